using Appliance.Core.Failover;

namespace Appliance.Core.Panel;

/// <summary>One network interface as the panel shows it.</summary>
/// <param name="Name">Interface name, e.g. <c>eth0</c> or <c>team0</c>.</param>
/// <param name="Address">Its address in text form (IPv4 or IPv6), without prefix length.</param>
/// <param name="CarriesSharedIp">True when this address is the pair's shared (virtual) IP.</param>
public sealed record PanelInterface(string Name, string Address, bool CarriesSharedIp);

/// <summary>An immutable snapshot of everything the panel menu can show, taken by <see cref="Ports.IPanelStatusSource"/>.</summary>
public sealed record PanelStatus
{
    public IReadOnlyList<PanelInterface> Interfaces { get; init; } = [];

    /// <summary>Off until HA is configured.</summary>
    public HaRole Role { get; init; } = HaRole.Off;

    public long Epoch { get; init; }

    public bool PeerReachable { get; init; }

    /// <summary>Short health summary, e.g. <c>CPU 12% MEM 40% DSK 71%</c>.</summary>
    public string HealthSummary { get; init; } = "";

    /// <summary>The most recent alert text, or null when none.</summary>
    public string? LastAlert { get; init; }

    /// <summary>Mirror (replication) state, e.g. <c>in sync</c>, <c>syncing</c>, <c>off</c>.</summary>
    public string MirrorState { get; init; } = "off";

    public DateTimeOffset? LastMirrorSync { get; init; }

    public string Version { get; init; } = "";

    public static PanelStatus Empty { get; } = new();

    /// <summary>The address that carries the shared IP, else the first address, else null.</summary>
    public string? PrimaryAddress =>
        Interfaces.FirstOrDefault(i => i.CarriesSharedIp)?.Address ?? (Interfaces.Count > 0 ? Interfaces[0].Address : null);
}
