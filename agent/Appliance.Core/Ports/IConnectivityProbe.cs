using Appliance.Core.Failover;

namespace Appliance.Core.Ports;

/// <summary>ICMP echo or TCP connect to one target, bounded by its own timeout.</summary>
public interface IConnectivityProbe
{
    Task<bool> ReachesAsync(ConnectivityTarget target, CancellationToken cancellationToken);
}
