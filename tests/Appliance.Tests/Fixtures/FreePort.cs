using System.Net;
using System.Net.Sockets;

namespace Appliance.Tests.Fixtures;

public static class FreePort
{
    /// <summary>A loopback TCP port the OS just handed out (bind to 0), so parallel tests don't collide.</summary>
    public static int Tcp()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
