using System.Globalization;
using Appliance.Core.Heartbeat;

namespace Appliance.Agent.Ha;

/// <summary>
/// Turns the engine's running rejection counts into at most one log line per main-loop tick, so a peer (or an
/// attacker) sending garbage at line rate costs one line a second, not one per frame. Never shows a payload or key.
/// </summary>
public sealed class RejectionReport
{
    /// <summary>Expected now and then (a late will, a duplicate on reconnect): worth a note, not a warning.</summary>
    private static readonly HashSet<RejectReason> Routine = [RejectReason.NotNewer, RejectReason.StaleWill];

    private Dictionary<RejectReason, long> _reported = [];

    /// <summary>The rejections since the last call, or null when there were none; <c>Suspicious</c> when any is not routine.</summary>
    public (bool Suspicious, string Line)? Next(IReadOnlyDictionary<RejectReason, long>? counts)
    {
        if (counts is null)
        {
            _reported = []; // unpaired: a new pairing starts from zero
            return null;
        }

        var increases = counts
            .Select(c => (Reason: c.Key, Added: c.Value - _reported.GetValueOrDefault(c.Key), Total: c.Value))
            .Where(c => c.Added > 0)
            .OrderBy(c => c.Reason)
            .ToList();
        _reported = counts.ToDictionary(c => c.Key, c => c.Value);
        if (increases.Count == 0)
        {
            return null;
        }

        var line = "rejected peer messages: " + string.Join(", ", increases.Select(c =>
            string.Create(CultureInfo.InvariantCulture, $"{c.Reason} +{c.Added} (total {c.Total})")));
        return (increases.Any(c => !Routine.Contains(c.Reason)), line);
    }
}
