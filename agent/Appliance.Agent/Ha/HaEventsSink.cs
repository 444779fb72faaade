using Appliance.Agent.Store;
using Appliance.Core.Failover;
using Appliance.Core.Ports;

namespace Appliance.Agent.Ha;

/// <summary>Every HA transition and event goes into the store's history (durable) and the log.</summary>
public sealed partial class HaEventsSink(AgentStore store, TransitionHooks hooks, ILogger<HaEventsSink> logger) : IHaEvents
{
    public void Record(HaTransition transition, DateTimeOffset at)
    {
        store.AppendHistory("role", $"{transition.From} -> {transition.To} (epoch {transition.Epoch})", transition.Cause);
        LogTransition(logger, transition.From, transition.To, transition.Epoch, transition.Cause);
        hooks.Post(transition);
    }

    public void Notify(HaEventKind kind, string message, DateTimeOffset at)
    {
        store.AppendHistory(kind.ToString(), message, "ha");
        if (kind == HaEventKind.Conflict)
        {
            hooks.PostConflict(message);
        }

        LogEvent(logger, kind, message);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Role {From} -> {To} (epoch {Epoch}): {Cause}")]
    private static partial void LogTransition(ILogger logger, HaRole from, HaRole to, long epoch, string cause);

    [LoggerMessage(Level = LogLevel.Information, Message = "HA {Kind}: {Message}")]
    private static partial void LogEvent(ILogger logger, HaEventKind kind, string message);
}
