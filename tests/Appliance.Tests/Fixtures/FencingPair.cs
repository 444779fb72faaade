using Appliance.Core.Failover;
using Appliance.Tests.Bmc;

namespace Appliance.Tests.Fixtures;

/// <summary>
/// A pair of agents that fence each other through one real <c>ipmi_sim</c>. Before a loss the test adopts the
/// Active agent's process as the simulator's host (<see cref="IpmiSimulator.AdoptHost"/>), so the Passive's
/// power-off kills the Active agent itself.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public static class FencingPair
{
    /// <summary>Agent settings (the same for both nodes): the peer's BMC is <paramref name="sim"/>; no own BMC.</summary>
    public static Dictionary<string, string> AgentSettings(IpmiSimulator sim, string? passwordFile = null)
    {
        var settings = SimulatedBmcAgent.BmcSettings(sim, "Appliance:Ha:Fencing:Bmc");
        settings["Appliance:Ha:Fencing:Enabled"] = "true";
        // A killed agent takes a moment to die and reads on until then: re-read status after 100 ms, not the default 1 s.
        settings["Appliance:Ha:Fencing:PollInterval"] = "00:00:00.100";
        settings["Appliance:Bmc:Kind"] = "None"; // never this machine's own /dev/ipmi0
        if (passwordFile is not null)
        {
            settings["Appliance:Ha:Fencing:Bmc:PasswordFile"] = passwordFile;
        }

        return settings;
    }

    /// <summary>
    /// HA settings for a fast silent-loss takeover. FenceDelay 0: the pcmk_delay_base-style delay of the non-preferred
    /// node is a policy choice that would only add a constant on top of what is measured here.
    /// </summary>
    public static HaSettings Settings(TimeSpan heartbeat, TimeSpan failoverTimeout, bool fencing, FencingUnconfirmedPolicy unconfirmed = FencingUnconfirmedPolicy.Wait) => new()
    {
        HeartbeatInterval = heartbeat,
        PartnerFailoverTimeout = failoverTimeout,
        FencingEnabled = fencing,
        FencingUnconfirmed = unconfirmed,
        FenceDelay = TimeSpan.Zero,
    };
}
