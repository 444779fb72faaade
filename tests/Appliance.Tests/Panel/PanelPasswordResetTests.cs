using Appliance.Core.Panel;
using Appliance.Core.Ports;

namespace Appliance.Tests.Panel;

public class PanelPasswordResetTests
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(2);

    // CountingRandom yields bytes 0, 1, 2, … so the first password is the alphabet's first 12 characters.
    private const string FirstPassword = "34679ACDEFGH";

    private static PanelRig OnShowIp(bool allow)
    {
        var rig = new PanelRig(new PanelSettings(ButtonsEnabled: true, AllowPasswordReset: allow));
        rig.Press(PanelKey.Down);
        Assert.StartsWith("Show IP", rig.Screen[0], StringComparison.Ordinal);
        return rig;
    }

    [Fact]
    public void Setting_off_the_chord_does_nothing()
    {
        using var rig = OnShowIp(allow: false);
        var before = rig.Screen;

        rig.Press(PanelKey.Up, Hold, with: PanelKey.Down);
        Assert.Equal(before, rig.Screen);

        // Check is ordinary navigation again: it opens the Show IP details.
        rig.Press(PanelKey.Check);
        Assert.StartsWith("eth0", rig.Screen[0], StringComparison.Ordinal);
        Assert.Empty(rig.Credentials.Passwords);
        Assert.Equal(0, rig.Credentials.ResetEvents);
    }

    [Fact]
    public void Hold_up_and_down_shows_a_password_and_check_sets_it_and_records_the_event()
    {
        using var rig = OnShowIp(allow: true);

        rig.Press(PanelKey.Up, Hold, with: PanelKey.Down);
        Assert.Equal([$"New admin pw {PanelGlyph.Check}?", FirstPassword], rig.Screen);

        rig.Press(PanelKey.Check);
        Assert.Equal([FirstPassword], rig.Credentials.Passwords);
        Assert.Equal(1, rig.Credentials.ResetEvents);
        Assert.Equal(["Password set", "Press any key"], rig.Screen);

        rig.Press(PanelKey.Down);
        Assert.StartsWith("Show IP", rig.Screen[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_chord_is_not_enough()
    {
        using var rig = OnShowIp(allow: true);
        rig.Press(PanelKey.Up, TimeSpan.FromSeconds(1), with: PanelKey.Down);
        Assert.StartsWith("Show IP", rig.Screen[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PanelKey.Down)]
    [InlineData(PanelKey.Up)]
    [InlineData(PanelKey.Back)]
    public void Any_other_key_cancels(PanelKey other)
    {
        using var rig = OnShowIp(allow: true);
        rig.Press(PanelKey.Up, Hold, with: PanelKey.Down);

        rig.Press(other);
        rig.Press(PanelKey.Check);

        Assert.Empty(rig.Credentials.Passwords);
        Assert.Equal(0, rig.Credentials.ResetEvents);
        Assert.DoesNotContain(rig.Screen, l => l.Contains(FirstPassword, StringComparison.Ordinal));
    }

    [Fact]
    public void Thirty_seconds_without_a_key_cancels()
    {
        using var rig = OnShowIp(allow: true);
        rig.Press(PanelKey.Up, Hold, with: PanelKey.Down);
        rig.Idle(TimeSpan.FromSeconds(29));
        Assert.Equal(FirstPassword, rig.Screen[1]);

        rig.Idle(TimeSpan.FromSeconds(1.5));
        Assert.StartsWith("Show IP", rig.Screen[0], StringComparison.Ordinal);
        rig.Press(PanelKey.Check);
        Assert.Empty(rig.Credentials.Passwords);
    }

    [Fact]
    public void The_chord_elsewhere_than_show_ip_does_nothing()
    {
        using var rig = OnShowIp(allow: true);
        rig.Press(PanelKey.Down);
        rig.Press(PanelKey.Up, Hold, with: PanelKey.Down);
        Assert.StartsWith("Role", rig.Screen[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_store_shows_reset_failed_and_records_no_event()
    {
        using var rig = OnShowIp(allow: true);
        rig.Credentials.Fail = true;
        rig.Press(PanelKey.Up, Hold, with: PanelKey.Down);
        rig.Press(PanelKey.Check);

        Assert.Equal("Reset failed", rig.Screen[0]);
        Assert.Equal(0, rig.Credentials.ResetEvents);
    }

    [Fact]
    public void Generated_passwords_avoid_look_alikes_and_are_uniform()
    {
        foreach (var forbidden in "0Oo1lI5Ss2Zz8B")
        {
            Assert.DoesNotContain(forbidden, PanelPassword.Alphabet);
        }

        Assert.Equal(PanelPassword.Alphabet.Length, PanelPassword.Alphabet.Distinct().Count());
        for (var i = 0; i < 200; i++)
        {
            var password = PanelPassword.Generate(CryptoSecureRandom.Instance);
            Assert.Equal(12, password.Length);
            Assert.All(password, c => Assert.Contains(c, PanelPassword.Alphabet));
        }

        // Bytes at or above 240 (= 5 × 48) are rejected, so 0xF0 never maps to Alphabet[0].
        var biased = new QueueRandom([0xF0, 0xFF, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C]);
        Assert.Equal(PanelPassword.Alphabet[1..13], PanelPassword.Generate(biased));
        Assert.Throws<ArgumentOutOfRangeException>(() => PanelPassword.Generate(biased, 8));
    }

    [Fact]
    public void The_effect_never_prints_the_password()
    {
        Assert.DoesNotContain(FirstPassword, new SetAdminPasswordEffect(FirstPassword).ToString(), StringComparison.Ordinal);
    }

    private sealed class QueueRandom(byte[] bytes) : ISecureRandom
    {
        private int _next;

        public void Fill(Span<byte> destination)
        {
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = _next < bytes.Length ? bytes[_next++] : (byte)0;
            }
        }
    }
}
