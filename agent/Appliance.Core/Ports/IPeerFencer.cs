namespace Appliance.Core.Ports;

/// <summary>How a fencing attempt on the peer ended.</summary>
public enum FenceOutcome
{
    /// <summary>The peer's BMC reported power off, and a status poll confirmed it.</summary>
    ConfirmedOff,

    /// <summary>The peer's BMC answered but power-off was refused, failed, or not confirmed in time.</summary>
    Failed,

    /// <summary>The peer's BMC is unreachable: the peer may have lost all power, or only its network.</summary>
    BmcUnreachable,

    /// <summary>Dry check only (<see cref="IPeerFencer.CheckAsync"/>): the BMC answers and the credentials work; nothing was powered.</summary>
    CheckPassed,
}

/// <summary>The result of a fencing attempt, with a one-line reason for history (never a secret).</summary>
public sealed record FenceResult(FenceOutcome Outcome, string Detail, TimeSpan Elapsed);

/// <summary>Powers the peer off through its BMC before this node promotes (STONITH).</summary>
public interface IPeerFencer
{
    /// <summary>Powers the peer off and confirms it is off (off, then poll status), bounded by the fencing timeout.</summary>
    Task<FenceResult> FenceAsync(CancellationToken cancellationToken);

    /// <summary>Dry check: the peer's BMC answers and the credentials work; powers nothing off.</summary>
    Task<FenceResult> CheckAsync(CancellationToken cancellationToken);
}
