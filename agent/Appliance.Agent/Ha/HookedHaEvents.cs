using Appliance.Core.Failover;
using Appliance.Core.Ports;

namespace Appliance.Agent.Ha;

/// <summary>
/// Wraps the host's <see cref="IHaEvents"/>: every transition, and every conflict, also posts the
/// configured hooks. Posting never waits, so a slow DNS swing cannot stall the engine loop.
/// </summary>
public sealed class HookedHaEvents(IHaEvents inner, TransitionHooks hooks) : IHaEvents
{
    // The engine records a transition before any conflict can be detected, so a conflict hook gets the
    // role and epoch the node actually had; Off/0 only if a conflict came before the first transition.
    private HaTransition _last = new(HaRole.Off, HaRole.Off, 0, "start");

    public void Record(HaTransition transition, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(transition);
        inner.Record(transition, at);
        _last = transition;
        hooks.Post(transition);
    }

    public void Notify(HaEventKind kind, string message, DateTimeOffset at)
    {
        inner.Notify(kind, message, at);
        if (kind == HaEventKind.Conflict)
        {
            HaTransition last = _last;
            hooks.Post(HookTrigger.Conflict, last.To, last.Epoch, message);
        }
    }
}
