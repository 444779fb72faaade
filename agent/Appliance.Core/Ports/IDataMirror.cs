namespace Appliance.Core.Ports;

/// <summary>Data mirroring hook: the planned switch with --sync pulls from the old Active first.</summary>
public interface IDataMirror
{
    /// <summary>Pulls until caught up; returns a one-line result for history.</summary>
    Task<string> PullAsync(CancellationToken cancellationToken);

    /// <summary>Opaque, monotonic position of what has been applied (sent in heartbeats).</summary>
    long Position { get; }
}
