using Appliance.Core.Panel;

namespace Appliance.Core.Ports;

/// <summary>Gives the front panel a fresh status snapshot (the host implements it from HA, health, mirror and NIC state).</summary>
public interface IPanelStatusSource
{
    Task<PanelStatus> GetStatusAsync(CancellationToken cancellationToken);
}
