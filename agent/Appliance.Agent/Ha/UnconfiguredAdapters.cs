using Appliance.Core.Ports;

namespace Appliance.Agent.Ha;

/// <summary>
/// No shared IP is configured for this pair (traffic moves by DNS or NAT swing, or hooks do it):
/// there is nothing to take or release, and this node never holds one.
/// </summary>
public sealed class NoSharedAddress : ISharedAddress
{
    public bool IsHeld => false;

    public Task TakeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task ReleaseAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// No peer BMC is configured (Appliance:Ha:Fencing). Settings validation keeps FencingEnabled off in
/// that case, so the engine does not fence; if it is asked anyway, the answer is an honest failure.
/// </summary>
public sealed class FencingNotConfigured : IPeerFencer
{
    private static readonly FenceResult NotConfigured =
        new(FenceOutcome.Failed, "fencing is not configured (Appliance:Ha:Fencing)", TimeSpan.Zero);

    public Task<FenceResult> FenceAsync(CancellationToken cancellationToken) => Task.FromResult(NotConfigured);

    public Task<FenceResult> CheckAsync(CancellationToken cancellationToken) => Task.FromResult(NotConfigured);
}
