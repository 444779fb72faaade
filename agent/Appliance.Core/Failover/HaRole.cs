namespace Appliance.Core.Failover;

/// <summary>The role a node holds in its pair. Only <see cref="Active"/> serves clients.</summary>
public enum HaRole
{
    /// <summary>Not paired, or the pair was broken: serves nothing, fails over to nobody.</summary>
    Off,

    /// <summary>Standby: watches the Active and takes over when it is lost.</summary>
    Passive,

    /// <summary>Serves clients and holds the shared IP.</summary>
    Active,

    /// <summary>Medium failover mode: the Active is lost and an operator must confirm the takeover.</summary>
    FailoverPending,
}
