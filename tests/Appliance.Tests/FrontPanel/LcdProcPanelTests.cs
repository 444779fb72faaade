using Appliance.Core.Panel;
using Appliance.Hw.FrontPanel;
using Appliance.Tests.Fixtures.LcdProc;
using Appliance.Tests.Panel;
using Appliance.Hw.FrontPanel.LcdProc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.Tests.FrontPanel;

/// <summary>The LCDproc client against a real LCDd (curses driver in tmux): screens appear, keys reach the menu.</summary>
public sealed class LcdProcPanelTests
{
    /// <summary>A real LCDd plus the agent's LCDproc panel running against it; disposal stops both.</summary>
    private sealed class PanelOnLcdd : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _running;

        public PanelOnLcdd(int columns, int rows)
        {
            Lcdd = LcdProcFixture.Start(columns, rows);
            Runtime = FrontPanelRuntime.Create(
                new PanelOptions { Kind = PanelKind.LcdProc, LcdProcPort = Lcdd.Port, Columns = columns, Rows = rows },
                new FrontPanelDependencies(Status, new RecordingCredentialSink(), PanelSettings.Default, TimeProvider.System, NullLoggerFactory.Instance));
            if (Runtime.Warning is { } warning)
            {
                Lcdd.Dispose();
                Assert.Fail(warning);
            }

            _running = Runtime.RunAsync(_stop.Token);
        }

        public LcdProcFixture Lcdd { get; }

        public MutableStatusSource Status { get; } = new() { Status = PanelRig.SampleStatus };

        public FrontPanelRuntime Runtime { get; }

        public LcdProcPanel Client => Runtime.LcdProc!;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _running;
            Runtime.Dispose();
            Lcdd.Dispose();
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task Screens_appear_on_LCDd_and_its_keys_drive_the_menu()
    {
        await using var panel = new PanelOnLcdd(20, 4);
        var lcdd = panel.Lcdd;

        await lcdd.WaitForScreenAsync(s => s[0] == "PASSIVE" && s[1] == "10.0.0.5" && s[2] == "CPU 12% MEM 40% DSK" && s[3] == "! disk 71% on /var");
        Assert.Equal((20, 4), panel.Client.ServerSize);

        lcdd.Press("Down");
        await lcdd.WaitForScreenAsync(s => s[0] == "Show IP           ^v" && s[1] == "eth0 *shared");
        lcdd.Press("Enter");
        await lcdd.WaitForScreenAsync(s => s[0] == "eth0 *shared" && s[1] == "10.0.0.5" && s[2] == "eth1" && s[3] == "192.168.1.2");
        lcdd.Press("Escape");
        await lcdd.WaitForScreenAsync(s => s[0].StartsWith("Show IP", StringComparison.Ordinal));
        lcdd.Press("Up");
        await lcdd.WaitForScreenAsync(s => s[0] == "PASSIVE");

        // Status changes reach the display through the refresh loop.
        panel.Status.Status = PanelRig.SampleStatus with { Role = Core.Failover.HaRole.Active };
        await lcdd.WaitForScreenAsync(s => s[0] == "ACTIVE");

        Assert.True(panel.Client.Visible);
        Assert.Equal(0, panel.Client.RefusedCommands);
        Assert.Equal(1, panel.Client.Connections);
        lcdd.AssertNoErrors();
    }

    [Fact]
    public async Task The_client_reconnects_to_a_restarted_LCDd_and_redraws_on_a_16x2()
    {
        await using var panel = new PanelOnLcdd(16, 2);
        var lcdd = panel.Lcdd;
        await lcdd.WaitForScreenAsync(s => s[0] == "PASSIVE" && s[1] == "10.0.0.5");

        lcdd.Restart();

        await lcdd.WaitForScreenAsync(s => s[0] == "PASSIVE" && s[1] == "10.0.0.5", TimeSpan.FromSeconds(15));
        Assert.Equal(2, panel.Client.Connections);
        lcdd.Press("Down");
        await lcdd.WaitForScreenAsync(s => s[0] == "Show IP       ^v");
        Assert.Equal(0, panel.Client.RefusedCommands);
        lcdd.AssertNoErrors();
    }
}
