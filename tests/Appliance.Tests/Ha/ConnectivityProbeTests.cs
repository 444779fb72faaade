using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Appliance.Agent.Ha;
using Appliance.Core.Failover;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.Tests.Ha;

/// <summary>Real sockets and real ICMP, loopback only (the workplace allows no other traffic).</summary>
public sealed class ConnectivityProbeTests
{
    private static ConnectivityProbe Probe(TimeSpan? timeout = null) =>
        new(new ConnectivityProbeOptions { Timeout = timeout ?? TimeSpan.FromSeconds(2) }, NullLogger<ConnectivityProbe>.Instance);

    [Fact]
    public async Task Tcp_to_a_listening_port_is_reached()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        ProbeResult result = await Probe().ProbeAsync(new ConnectivityTarget("127.0.0.1", port), CancellationToken.None);

        Assert.True(result.Reached, result.Reason);
        Assert.Equal("answered", result.Reason);
    }

    [Fact]
    public async Task Tcp_by_host_name_resolves_then_connects()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        Assert.True(await Probe().ReachesAsync(new ConnectivityTarget("localhost", port), CancellationToken.None));
    }

    [Fact]
    public async Task Tcp_to_a_closed_port_is_not_reached_quickly_with_the_reason()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var clock = Stopwatch.StartNew();
        ProbeResult result = await Probe().ProbeAsync(new ConnectivityTarget("127.0.0.1", port), CancellationToken.None);

        Assert.False(result.Reached);
        Assert.Equal("TCP connect: ConnectionRefused", result.Reason);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Icmp_echo_to_loopback_is_reached()
    {
        ProbeResult result = await Probe().ProbeAsync(new ConnectivityTarget("127.0.0.1", null), CancellationToken.None);

        Assert.True(result.Reached, result.Reason);
    }

    [Fact]
    public async Task Icmp_echo_to_ipv6_loopback_is_reached()
    {
        Assert.True(await Probe().ReachesAsync(new ConnectivityTarget("::1", null), CancellationToken.None));
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_reported_as_unreachable()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Probe().ReachesAsync(new ConnectivityTarget("127.0.0.1", 1), cancelled.Token));
    }
}
