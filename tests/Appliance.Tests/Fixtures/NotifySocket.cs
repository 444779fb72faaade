using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace Appliance.Tests.Fixtures;

/// <summary>A real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET; collects every datagram.</summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket;
    private readonly Channel<string> _datagrams = Channel.CreateUnbounded<string>();
    private readonly CancellationTokenSource _stop = new();

    public NotifySocket(string path)
    {
        Path = path;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(path));
        _ = Task.Run(ReceiveLoopAsync);
    }

    public string Path { get; }

    /// <summary>Waits for the next datagram that contains <paramref name="assignment"/>; returns all seen until then.</summary>
    public async Task<List<string>> WaitForAsync(string assignment, TimeSpan timeout)
    {
        var seen = new List<string>();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var datagram = await _datagrams.Reader.ReadAsync(cts.Token);
                seen.Add(datagram);
                if (datagram.Split('\n').Contains(assignment))
                {
                    return seen;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no '{assignment}' within {timeout}; got: [{string.Join(" | ", seen)}]");
        }
    }

    /// <summary>Datagrams received in the next <paramref name="window"/>.</summary>
    public async Task<List<string>> CollectAsync(TimeSpan window)
    {
        var seen = new List<string>();
        using var cts = new CancellationTokenSource(window);
        try
        {
            while (true)
            {
                seen.Add(await _datagrams.Reader.ReadAsync(cts.Token));
            }
        }
        catch (OperationCanceledException)
        {
            return seen;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                await _datagrams.Writer.WriteAsync(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // disposed
        }
    }
}
