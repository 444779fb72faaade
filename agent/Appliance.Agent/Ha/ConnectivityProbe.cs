using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Appliance.Core.Failover;
using Appliance.Core.Ports;
using Microsoft.Extensions.Logging;

namespace Appliance.Agent.Ha;

/// <summary>One probe: whether the target answered, why not, and how long it took.</summary>
public sealed record ProbeResult(ConnectivityTarget Target, bool Reached, string Reason, TimeSpan Elapsed);

/// <summary>
/// ICMP echo (host) or TCP connect (host:port), name resolution included, all within one timeout.
/// Never throws for an unreachable target: false, with the reason logged.
/// </summary>
public sealed partial class ConnectivityProbe : IConnectivityProbe
{
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    public ConnectivityProbe(ConnectivityProbeOptions options, ILogger<ConnectivityProbe> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _timeout = options.Timeout;
        _logger = logger;
    }

    public async Task<bool> ReachesAsync(ConnectivityTarget target, CancellationToken cancellationToken)
    {
        ProbeResult result = await ProbeAsync(target, cancellationToken);
        LogProbe(_logger, target, result.Reached, result.Reason, (long)result.Elapsed.TotalMilliseconds);
        return result.Reached;
    }

    /// <summary>Only the caller's own cancellation escapes (as OperationCanceledException).</summary>
    public async Task<ProbeResult> ProbeAsync(ConnectivityTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var clock = Stopwatch.StartNew();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        try
        {
            IPAddress address = await ResolveAsync(target.Host, deadline.Token);
            string reason = target.TcpPort is int port
                ? await ConnectAsync(new IPEndPoint(address, port), deadline.Token)
                : await EchoAsync(address, deadline.Token);
            return new ProbeResult(target, reason.Length == 0, reason.Length == 0 ? "answered" : reason, clock.Elapsed);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProbeResult(target, false, $"no answer within {_timeout.TotalMilliseconds:0} ms", clock.Elapsed);
        }
        catch (Exception ex) when (ex is SocketException or PingException or ArgumentException or InvalidOperationException)
        {
            return new ProbeResult(target, false, $"{ex.GetType().Name}: {(ex.InnerException ?? ex).Message}", clock.Elapsed);
        }
    }

    private static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out IPAddress? literal))
        {
            return literal;
        }

        IPAddress[] addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
        return addresses.Length > 0 ? addresses[0] : throw new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>Empty string when connected; otherwise the socket error (refused, unreachable …).</summary>
    private static async Task<string> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken);
            return "";
        }
        catch (SocketException ex)
        {
            return $"TCP connect: {ex.SocketErrorCode}";
        }
    }

    /// <summary>Empty string on an echo reply; otherwise the ICMP status (TimedOut, DestinationUnreachable …).</summary>
    private async Task<string> EchoAsync(IPAddress address, CancellationToken cancellationToken)
    {
        using var ping = new Ping();
        PingReply reply = await ping.SendPingAsync(address, _timeout, buffer: null, options: null, cancellationToken);
        return reply.Status == IPStatus.Success ? "" : $"ICMP echo: {reply.Status}";
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connectivity probe {Target}: reached={Reached} ({Reason}) in {ElapsedMs} ms")]
    private static partial void LogProbe(ILogger logger, ConnectivityTarget target, bool reached, string reason, long elapsedMs);
}
