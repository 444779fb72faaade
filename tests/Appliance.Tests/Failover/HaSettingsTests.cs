using Appliance.Core.Failover;

namespace Appliance.Tests.Failover;

public class HaSettingsTests
{
    [Fact]
    public void The_defaults_are_valid() => Assert.Empty(new HaSettings().Validate());

    public static TheoryData<HaSettings, string> BadSettings => new()
    {
        { new HaSettings { HeartbeatInterval = TimeSpan.FromMilliseconds(50) }, "HeartbeatInterval=50ms is out of range: allowed 100 ms – 130 s" },
        { new HaSettings { HeartbeatInterval = TimeSpan.FromSeconds(131), PartnerFailoverTimeout = TimeSpan.FromMinutes(5) }, "HeartbeatInterval=131s is out of range: allowed 100 ms – 130 s" },
        { new HaSettings { PartnerFailoverTimeout = TimeSpan.FromMilliseconds(200) }, "PartnerFailoverTimeout=200ms is out of range: allowed 300 ms – 10,000 min" },
        { new HaSettings { PartnerFailoverTimeout = TimeSpan.FromSeconds(1) }, "PartnerFailoverTimeout=1s must exceed HeartbeatInterval=1s" },
        { new HaSettings { PartnerContactTimeout = TimeSpan.FromMinutes(61) }, "PartnerContactTimeout=61min is out of range: allowed 0 – 60 min" },
        { new HaSettings { RebootBlackoutWindow = TimeSpan.FromMinutes(10_001) }, "RebootBlackoutWindow=10001min is out of range: allowed 0 – 10,000 min" },
        { new HaSettings { FailedNotificationRate = TimeSpan.FromSeconds(30) }, "FailedNotificationRate=30s is out of range: allowed 1 min – 1,440 min" },
        { new HaSettings { MaxMessageAge = TimeSpan.FromMinutes(20_000) }, "MaxMessageAge=20000min is out of range: allowed 1 min – 10,000 min" },
        { new HaSettings { KeyOverlap = TimeSpan.FromMinutes(-1) }, "KeyOverlap=-1min is out of range: allowed 0 – 10,080 min" },
        { new HaSettings { FenceDelay = TimeSpan.FromSeconds(121) }, "FenceDelay=121s is out of range: allowed 0 – 2 min" },
        { new HaSettings { FailoverMode = (FailoverMode)7 }, "FailoverMode=7 is not allowed: allowed Automatic | Medium" },
        { new HaSettings { FencingUnconfirmed = (FencingUnconfirmedPolicy)9 }, "FencingUnconfirmed=9 is not allowed: allowed Wait | PromoteIfPeerDark" },
        { new HaSettings { ConnectivityTestTargets = [.. Enumerable.Range(1, 9).Select(i => $"10.0.0.{i}")] }, "ConnectivityTestTargets has 9 entries: allowed 0 – 8" },
        { new HaSettings { ConnectivityTestTargets = ["gw.example:99999"] }, "ConnectivityTestTargets entry 'gw.example:99999' is invalid: allowed an IP or DNS host (ICMP) or host:port with port 1 – 65535 (TCP)" },
        { new HaSettings { ConnectivityTestTargets = ["bad host!"] }, "ConnectivityTestTargets entry 'bad host!' is invalid: allowed an IP or DNS host (ICMP) or host:port with port 1 – 65535 (TCP)" },
        { new HaSettings { SwitchBackAfter = TimeSpan.FromSeconds(5) }, "SwitchBackAfter=5s is out of range: allowed 0 (never) or 10 s – 10,000 min" },
        { new HaSettings { SwitchBackAfter = TimeSpan.FromMinutes(-1) }, "SwitchBackAfter=-1min is out of range: allowed 0 (never) or 10 s – 10,000 min" },
        { new HaSettings { SwitchBackAfter = TimeSpan.FromMinutes(5), FailoverMode = FailoverMode.Medium }, "SwitchBackAfter=5min needs FailoverMode=Automatic: in Medium mode only an operator changes roles (allowed 0 with Medium)" },
        { new HaSettings { PreferredActive = "node a" }, "PreferredActive='node a' is invalid: allowed 1 – 64 characters of letters, digits, '.', '_' or '-'" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Each_bad_setting_is_rejected_naming_field_value_and_range(HaSettings settings, string expected)
    {
        IReadOnlyList<string> errors = settings.Validate();

        Assert.Contains(expected, errors);
        var thrown = Assert.Throws<ArgumentException>(() => new HaMachine(settings));
        Assert.Contains(expected, thrown.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(600, 1_000, 3_000, "PartnerFailoverTimeout=600ms is shorter than twice the peer's HeartbeatInterval=1s: allowed 2s or more (shorten the peer's HeartbeatInterval first)")]
    [InlineData(1_999, 1_000, 3_000, "PartnerFailoverTimeout=1999ms is shorter than twice the peer's HeartbeatInterval=1s: allowed 2s or more (shorten the peer's HeartbeatInterval first)")]
    [InlineData(3_000, 200, 600, "HeartbeatInterval=1s is longer than half the peer's PartnerFailoverTimeout=600ms: allowed 300ms or less (lengthen the peer's PartnerFailoverTimeout first)")]
    public void Settings_that_would_fail_over_a_healthy_peer_are_refused_naming_both_values(int timeoutMs, int peerIntervalMs, int peerTimeoutMs, string expected)
    {
        var settings = new HaSettings { PartnerFailoverTimeout = TimeSpan.FromMilliseconds(timeoutMs) };

        IReadOnlyList<string> errors = settings.ValidateAgainstPeer(new PeerTiming(TimeSpan.FromMilliseconds(peerIntervalMs), TimeSpan.FromMilliseconds(peerTimeoutMs)));

        Assert.Equal([expected], errors);
    }

    [Fact]
    public void Settings_matching_the_peer_or_with_a_peer_never_heard_pass()
    {
        var fast = new HaSettings { HeartbeatInterval = TimeSpan.FromMilliseconds(100), PartnerFailoverTimeout = TimeSpan.FromMilliseconds(300) };

        Assert.Empty(new HaSettings().ValidateAgainstPeer(PeerTiming.Of(new HaSettings())));
        Assert.Empty(fast.ValidateAgainstPeer(PeerTiming.Of(fast))); // exactly twice the peer's interval is enough
        Assert.Empty(fast.ValidateAgainstPeer(null));
    }

    [Theory]
    [InlineData("192.0.2.1", "192.0.2.1", null)]
    [InlineData("gw.example.com:443", "gw.example.com", 443)]
    [InlineData("[2001:db8::1]:22", "2001:db8::1", 22)]
    [InlineData("2001:db8::1", "2001:db8::1", null)]
    public void Connectivity_targets_parse_as_ICMP_or_TCP(string text, string host, int? port)
    {
        Assert.True(ConnectivityTarget.TryParse(text, out ConnectivityTarget? target));
        Assert.Equal(new ConnectivityTarget(host, port), target);
        Assert.Equal(text, target!.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("-bad.example")]
    [InlineData("host:0")]
    [InlineData("[not-an-ip]:80")]
    [InlineData("[2001:db8::1]")]
    public void Malformed_targets_are_rejected(string text) => Assert.False(ConnectivityTarget.TryParse(text, out _));
}
