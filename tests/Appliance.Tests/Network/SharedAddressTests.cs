using Appliance.Hw.Network;
using Appliance.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.Tests.Network;

/// <summary>The shared address on a real interface: two network namespaces joined by veth, real ip and arping.</summary>
public sealed class SharedAddressTests : IDisposable
{
    private const string Vip = "10.77.0.100";
    private readonly NetnsPair _net = new();

    public void Dispose() => _net.Dispose();

    [Fact]
    public async Task Take_adds_the_address_and_a_gratuitous_ARP_moves_the_neighbour_to_this_node_MAC()
    {
        // The router still has the old Active's MAC for the shared address.
        NetnsPair.Ip("-n", _net.Neighbour, "neigh", "replace", Vip, "lladdr", "02:00:00:00:00:99", "dev", NetnsPair.NeighbourInterface, "nud", "stale");
        var address = Create(announcements: 2);

        await address.TakeAsync(CancellationToken.None);

        Assert.True(address.IsHeld);
        Assert.Contains($"inet {Vip}/24", _net.NodeAddresses(), StringComparison.Ordinal);
        string mac = _net.NodeMac();
        await Eventually(() => _net.NeighbourEntry(Vip).Contains(mac, StringComparison.Ordinal), $"neighbour learns {mac}: {_net.NeighbourEntry(Vip)}");
    }

    [Fact]
    public async Task Take_and_release_are_idempotent_and_release_removes_the_address()
    {
        var address = Create(announcements: 1);

        await address.ReleaseAsync(CancellationToken.None); // never held: nothing to do, no error
        await address.TakeAsync(CancellationToken.None);
        await address.TakeAsync(CancellationToken.None); // already assigned: still fine
        await address.ReleaseAsync(CancellationToken.None);
        await address.ReleaseAsync(CancellationToken.None);

        Assert.False(address.IsHeld);
        Assert.DoesNotContain(Vip, _net.NodeAddresses(), StringComparison.Ordinal);
        Assert.Contains("inet 10.77.0.1/24", _net.NodeAddresses(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Release_stops_a_running_announcement_so_a_released_address_is_never_announced()
    {
        var address = Create(announcements: 20);
        await address.TakeAsync(CancellationToken.None);
        await Eventually(() => ArpingRunningIn(_net.Node), "arping announcing");

        await address.ReleaseAsync(CancellationToken.None);

        Assert.False(ArpingRunningIn(_net.Node), "arping still running after release");
        Assert.DoesNotContain(Vip, _net.NodeAddresses(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_interface_fails_with_the_command_and_its_error_and_holds_nothing()
    {
        var options = new SharedAddressOptions { Address = Vip + "/24", Interface = "nosuch0" };
        var address = new LinuxSharedAddress(options, _net.NodeRunner(), NullLogger<LinuxSharedAddress>.Instance);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => address.TakeAsync(CancellationToken.None));

        Assert.StartsWith($"shared address {Vip}/24 on nosuch0: 'ip -4 addr add {Vip}/24 dev nosuch0' failed: exit code 1: Cannot find device", error.Message, StringComparison.Ordinal);
        Assert.False(address.IsHeld);
        Assert.DoesNotContain(Vip, _net.NodeAddresses(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_that_starts_releases_a_shared_address_left_behind_by_its_killed_predecessor()
    {
        NetnsPair.Ip("-n", _net.Node, "addr", "add", Vip + "/24", "dev", NetnsPair.NodeInterface);
        using var temp = new TempDir();
        await using var agent = new AgentProcess(temp.File("data"), new Dictionary<string, string>
        {
            ["Appliance:Ha:SharedAddress:Address"] = Vip + "/24",
            ["Appliance:Ha:SharedAddress:Interface"] = NetnsPair.NodeInterface,
        }) { Launcher = ["ip", "netns", "exec", _net.Node] };

        agent.Start();

        // The agent's TCP listener is inside the namespace; its Unix socket is reachable from here.
        using var http = agent.CreateLocalClient();
        using HttpResponseMessage status = await Poll.FirstAnswerAsync(http, "api/v1/status", TimeSpan.FromSeconds(30), () => "agent answering on its socket: " + agent.OutputText);
        Assert.True(status.IsSuccessStatusCode, await status.Content.ReadAsStringAsync());
        Assert.DoesNotContain(Vip, _net.NodeAddresses(), StringComparison.Ordinal);
        Assert.Contains($"Shared address {Vip}/24 released on {NetnsPair.NodeInterface}", agent.OutputText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.300/24", "eth0", 5, "Appliance:Ha:SharedAddress:Address='10.0.0.300/24' is invalid: allowed an IPv4 address with an optional prefix length 1 – 32 (e.g. 192.0.2.50/24)")]
    [InlineData("10.0.0.1/33", "eth0", 5, "Appliance:Ha:SharedAddress:Address='10.0.0.1/33' is invalid")]
    [InlineData("fd00::1/64", "eth0", 5, "Appliance:Ha:SharedAddress:Address='fd00::1/64' is invalid")]
    [InlineData("10.1", "eth0", 5, "Appliance:Ha:SharedAddress:Address='10.1' is invalid")]
    [InlineData("10.0.0.1/24", "", 5, "Appliance:Ha:SharedAddress:Interface='' is invalid: allowed a Linux interface name of 1 – 15 characters")]
    [InlineData("10.0.0.1/24", "eth0; reboot", 5, "Appliance:Ha:SharedAddress:Interface='eth0; reboot' is invalid")]
    [InlineData("10.0.0.1/24", "averyveryverylongname", 5, "Appliance:Ha:SharedAddress:Interface='averyveryverylongname' is invalid")]
    [InlineData("10.0.0.1/24", "eth0", 0, "Appliance:Ha:SharedAddress:Announcements=0 is out of range: allowed 1 – 20")]
    public void Bad_options_are_rejected_naming_the_key_the_value_and_the_range(string cidr, string nic, int announcements, string expected)
    {
        var options = new SharedAddressOptions { Address = cidr, Interface = nic, Announcements = announcements };

        string error = Assert.Single(options.Validate(isLinux: true));

        Assert.StartsWith(expected, error, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new LinuxSharedAddress(options, _net.NodeRunner(), NullLogger<LinuxSharedAddress>.Instance));
    }

    [Fact]
    public void No_address_means_no_shared_address_and_Windows_is_refused()
    {
        Assert.Empty(new SharedAddressOptions().Validate(isLinux: false));
        Assert.Contains(new SharedAddressOptions { Address = "10.0.0.1/24", Interface = "eth0" }.Validate(isLinux: false),
            e => e.StartsWith("Appliance:Ha:SharedAddress:Address is set but a shared address is supported on Linux only", StringComparison.Ordinal));
        Assert.Equal((System.Net.IPAddress.Parse("10.0.0.1"), 32), new SharedAddressOptions { Address = "10.0.0.1", Interface = "eth0" }.Parsed());
    }

    private LinuxSharedAddress Create(int announcements) =>
        new(new SharedAddressOptions { Address = Vip + "/24", Interface = NetnsPair.NodeInterface, Announcements = announcements },
            _net.NodeRunner(), NullLogger<LinuxSharedAddress>.Instance);

    private static bool ArpingRunningIn(string ns) =>
        NetnsPair.Ip("netns", "pids", ns).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Any(pid => File.Exists($"/proc/{pid}/comm") && File.ReadAllText($"/proc/{pid}/comm").Trim() == "arping");

    private static Task Eventually(Func<bool> condition, string what) => Poll.UntilAsync(condition, TimeSpan.FromSeconds(10), () => what);
}
