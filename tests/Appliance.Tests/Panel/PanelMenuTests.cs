using Appliance.Core.Failover;
using Appliance.Core.Panel;

namespace Appliance.Tests.Panel;

public class PanelMenuTests
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(2);

    [Fact]
    public void Home_shows_role_peer_and_the_shared_address()
    {
        using var rig = new PanelRig();
        Assert.Equal(["PASSIVE", "10.0.0.5"], rig.Screen);

        rig.Status.Status = PanelRig.SampleStatus with { Role = HaRole.Active, PeerReachable = true };
        rig.Refresh();
        Assert.Equal([$"ACTIVE {PanelGlyph.Heartbeat}", "10.0.0.5"], rig.Screen);
    }

    [Fact]
    public void Until_HA_is_configured_the_role_shows_off()
    {
        using var rig = new PanelRig();
        rig.Status.Status = PanelStatus.Empty;
        rig.Refresh();
        Assert.Equal(["OFF", "no address"], rig.Screen);
    }

    [Fact]
    public void Down_cycles_through_every_screen_and_back_home_and_up_goes_the_other_way()
    {
        using var rig = new PanelRig();
        var titles = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            rig.Press(PanelKey.Down);
            titles.Add(rig.Screen[0]);
        }

        var arrows = $"{PanelGlyph.UpArrow}{PanelGlyph.DownArrow}";
        Assert.Equal([$"Show IP       {arrows}", $"Role          {arrows}", $"Health        {arrows}", $"Mirror        {arrows}", $"Version       {arrows}", "PASSIVE"], titles);

        rig.Press(PanelKey.Up);
        Assert.StartsWith("Version", rig.Screen[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Show_ip_lists_each_interface_and_marks_the_shared_address()
    {
        using var rig = new PanelRig();
        rig.Press(PanelKey.Down);
        rig.Press(PanelKey.Check);
        Assert.Equal([$"eth0 {PanelGlyph.Check}shared", $"10.0.0.5{new string(' ', 7)}{PanelGlyph.DownArrow}"], rig.Screen);

        rig.Press(PanelKey.Down);
        Assert.Equal([$"eth1{new string(' ', 11)}{PanelGlyph.UpArrow}", "192.168.1.2"], rig.Screen);

        rig.Press(PanelKey.Down);
        Assert.Equal("192.168.1.2", rig.Screen[1]);

        rig.Press(PanelKey.Check);
        Assert.StartsWith("Show IP", rig.Screen[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Role_health_mirror_and_version_screens_show_their_data_on_a_20x4()
    {
        using var rig = new PanelRig(columns: 20, rows: 4);
        string[] Open(int downs)
        {
            for (var i = 0; i < downs; i++)
            {
                rig.Press(PanelKey.Down);
            }

            rig.Press(PanelKey.Check);
            var screen = rig.Screen.ToArray();
            rig.Press(PanelKey.Back);
            for (var i = 0; i < 6 - downs; i++)
            {
                rig.Press(PanelKey.Down);
            }

            return screen;
        }

        Assert.Equal(["Role PASSIVE", "Epoch 7", "Peer unreachable", ""], Open(2));
        Assert.Equal(["CPU 12% MEM 40% DSK", "71%", "Alert: disk 71% on", "/var"], Open(3));
        Assert.Equal(["Mirror in sync", "Sync 11-23 22:15", "", ""], Open(4));
        Assert.Equal(["Version", "0.1.0+abc123", "", ""], Open(5));
    }

    [Fact]
    public void After_60_s_idle_the_panel_goes_home_and_dims_and_the_next_key_only_wakes_it()
    {
        using var rig = new PanelRig();
        rig.Press(PanelKey.Down);
        rig.Press(PanelKey.Down);
        Assert.StartsWith("Role", rig.Screen[0], StringComparison.Ordinal);

        rig.Idle(TimeSpan.FromSeconds(59));
        Assert.True(rig.Panel.Current.BacklightOn);
        rig.Idle(TimeSpan.FromSeconds(1.5));
        Assert.False(rig.Panel.Current.BacklightOn);
        Assert.Equal(["PASSIVE", "10.0.0.5"], rig.Screen);

        rig.Press(PanelKey.Down);
        Assert.True(rig.Panel.Current.BacklightOn);
        Assert.Equal(["PASSIVE", "10.0.0.5"], rig.Screen);
        rig.Press(PanelKey.Down);
        Assert.StartsWith("Show IP", rig.Screen[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Buttons_off_ignores_every_key_but_the_display_keeps_showing_status()
    {
        using var rig = new PanelRig(new PanelSettings(ButtonsEnabled: false, AllowPasswordReset: true));
        rig.Press(PanelKey.Down);
        rig.Press(PanelKey.Up, Hold, with: PanelKey.Down);
        Assert.Equal(["PASSIVE", "10.0.0.5"], rig.Screen);

        rig.Status.Status = PanelRig.SampleStatus with { Role = HaRole.Active };
        rig.Refresh();
        Assert.Equal(["ACTIVE", "10.0.0.5"], rig.Screen);

        rig.Controller.Settings = new PanelSettings(ButtonsEnabled: true);
        rig.Press(PanelKey.Down);
        Assert.StartsWith("Show IP", rig.Screen[0], StringComparison.Ordinal);
    }

    [Fact]
    public void The_framed_box_is_what_panel_show_prints()
    {
        using var rig = new PanelRig();
        Assert.Equal(
            "+----------------+\n|PASSIVE         |\n|10.0.0.5        |\n+----------------+\n",
            rig.Runtime.RenderScreen());
    }

    [Fact]
    public void Each_change_is_one_frame_and_a_refresh_without_change_is_none()
    {
        using var rig = new PanelRig();
        var frames = rig.Panel.FrameChanges;
        rig.Idle(TimeSpan.FromSeconds(5));
        Assert.Equal(frames, rig.Panel.FrameChanges);

        rig.Press(PanelKey.Down);
        Assert.Equal(frames + 1, rig.Panel.FrameChanges);
    }
}
