namespace Appliance.Core.Ports;

/// <summary>The pair's shared IP (address add/del + gratuitous ARP in the host).</summary>
public interface ISharedAddress
{
    /// <summary>Adds the address and announces it; idempotent.</summary>
    Task TakeAsync(CancellationToken cancellationToken);

    /// <summary>Removes the address; idempotent.</summary>
    Task ReleaseAsync(CancellationToken cancellationToken);

    bool IsHeld { get; }
}
