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

    /// <summary>
    /// A listener whose accept queue is full drops further SYNs (Linux), so the connect gets no answer at
    /// all: the real "silent target" path, bounded by the probe timeout, without leaving loopback.
    /// </summary>
    [Fact]
    public async Task Tcp_to_a_silent_target_gives_up_at_the_timeout()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;
        var fillers = new List<Socket>();
        try
        {
            // Fill the accept queue until a connect stays unanswered.
            while (fillers.Count < 8)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
                try
                {
                    await filler.ConnectAsync(endPoint, wait.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            var clock = Stopwatch.StartNew();
            ProbeResult result = await Probe(TimeSpan.FromMilliseconds(300)).ProbeAsync(new ConnectivityTarget("127.0.0.1", endPoint.Port), CancellationToken.None);

            Assert.False(result.Reached);
            Assert.Equal("no answer within 300 ms", result.Reason);
            Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }
}
