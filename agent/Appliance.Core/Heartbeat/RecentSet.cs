namespace Appliance.Core.Heartbeat;

/// <summary>
/// The last <c>capacity</c> distinct keys seen, oldest forgotten first: enough to drop the copy of a
/// message that arrives again on the other path, without growing over a long uptime. Not thread-safe.
/// </summary>
public sealed class RecentSet<T>(int capacity) where T : notnull
{
    private readonly HashSet<T> _members = new(capacity);
    private readonly Queue<T> _order = new(capacity);

    /// <summary>True the first time <paramref name="key"/> is seen (within the window), false after.</summary>
    public bool FirstSighting(T key)
    {
        if (!_members.Add(key))
        {
            return false;
        }

        _order.Enqueue(key);
        if (_order.Count > capacity)
        {
            _members.Remove(_order.Dequeue());
        }

        return true;
    }
}
