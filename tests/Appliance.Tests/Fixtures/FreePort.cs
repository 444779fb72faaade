using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Appliance.Tests.Fixtures;

public static class FreePort
{
    /// <summary>Every port this test run handed out: the OS may return one again once its probe socket is closed.</summary>
    private static readonly ConcurrentDictionary<int, bool> HandedOut = new();

    /// <summary>
    /// A loopback TCP port the OS just handed out (bind to 0), never one this run handed out before: two consecutive
    /// probes can get the same port (seen: an agent's API and broker on one port, exit 4), and so can parallel tests.
    /// </summary>
    public static int Tcp() => Unique(() =>
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    });

    /// <summary>The first port from <paramref name="probe"/> not handed out before in this run.</summary>
    internal static int Unique(Func<int> probe)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = probe();
            if (HandedOut.TryAdd(port, true))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no TCP port left that this test run has not handed out already ({HandedOut.Count} so far)");
    }
}
