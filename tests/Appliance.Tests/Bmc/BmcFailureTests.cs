using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Appliance.Core.Ports;
using Appliance.Hw.Bmc;

namespace Appliance.Tests.Bmc;

/// <summary>Real ipmitool against ports where no BMC answers: clear, distinct errors in bounded time.</summary>
public sealed class BmcFailureTests : IDisposable
{
    private readonly string _passwordFile = Path.GetTempFileName();

    public BmcFailureTests() => File.WriteAllText(_passwordFile, "calvin\n");

    public void Dispose() => File.Delete(_passwordFile);

    private BmcOptions Options(int port, TimeSpan timeout) => new()
    {
        Kind = BmcKind.Ipmi, Host = "127.0.0.1", Port = port, User = "root", PasswordFile = _passwordFile, CommandTimeout = timeout,
    };

    [Fact]
    public async Task Closed_port_is_unreachable_within_the_retry_bound_and_fencing_says_so()
    {
        var port = ClosedUdpPort();
        // Bound: the command plus the -v session probe, each at most CommandTimeout (5 s); ~4 s expected.
        var bmc = BmcFactory.Create(Options(port, TimeSpan.FromSeconds(5)))!;
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<BmcException>(() => bmc.GetPowerStateAsync(CancellationToken.None));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10) + TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
        Assert.Equal(BmcErrorKind.Unreachable, error.Kind);
        Assert.Equal($"BMC 127.0.0.1:{port} does not answer IPMI (RMCP+) during chassis power status", error.Message);

        // A dark BMC is asked again until the fencing timeout, then reported unreachable (not "failed").
        var fencer = BmcFactory.CreateFencer(new FencingOptions { Enabled = true, Bmc = Options(port, TimeSpan.FromSeconds(10)), Timeout = TimeSpan.FromSeconds(6) })!;
        var result = await fencer.FenceAsync(CancellationToken.None);
        Assert.Equal(FenceOutcome.BmcUnreachable, result.Outcome);
        Assert.Equal($"BMC 127.0.0.1:{port} does not answer IPMI (RMCP+) during chassis power off (asked again for 6 s)", result.Detail);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(6) + TimeSpan.FromSeconds(2), $"fence took {result.Elapsed}");
    }

    [Fact]
    public async Task Silent_bmc_hits_the_per_command_timeout_and_the_process_is_killed()
    {
        // A bound UDP socket that never answers: ipmitool would retry for ~2 s; the 1 s command timeout wins.
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)silent.LocalEndPoint!).Port;
        var bmc = BmcFactory.Create(Options(port, TimeSpan.FromSeconds(1)))!;

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<BmcException>(() => bmc.GetPowerStateAsync(CancellationToken.None));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
        Assert.Equal(BmcErrorKind.Timeout, error.Kind);
        Assert.Equal("ipmitool chassis power status did not finish within 1 s (killed)", error.Message);
    }

    [Fact]
    public async Task Missing_tool_is_reported_as_such()
    {
        var options = Options(623, TimeSpan.FromSeconds(2));
        options.IpmitoolPath = "/nonexistent/ipmitool";
        var error = await Assert.ThrowsAsync<BmcException>(() => BmcFactory.Create(options)!.GetPowerStateAsync(CancellationToken.None));
        Assert.Equal(BmcErrorKind.ToolMissing, error.Kind);
        Assert.StartsWith("cannot run /nonexistent/ipmitool", error.Message, StringComparison.Ordinal);
    }

    private static int ClosedUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
