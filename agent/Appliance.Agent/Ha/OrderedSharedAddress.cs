using Appliance.Core.Ports;

namespace Appliance.Agent.Ha;

/// <summary>
/// The shared address with one gate for the engine's take/release and the retries of a failed start-up release,
/// and the engine's last order remembered: a retry can then never remove the address from a node that has since
/// been told to take it.
/// </summary>
public sealed class OrderedSharedAddress(ISharedAddress inner) : ISharedAddress, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _takeOrdered;

    public bool IsHeld => inner.IsHeld;

    /// <summary>The gate only; the inner address is owned by whoever made it.</summary>
    public void Dispose() => _gate.Dispose();

    public Task TakeAsync(CancellationToken cancellationToken) => OrderAsync(take: true, inner.TakeAsync, cancellationToken);

    public Task ReleaseAsync(CancellationToken cancellationToken) => OrderAsync(take: false, inner.ReleaseAsync, cancellationToken);

    /// <summary>Releases again unless the engine's last order was to take the address; false when it was (nothing done).</summary>
    public async Task<bool> RetryReleaseAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_takeOrdered)
            {
                return false;
            }

            await inner.ReleaseAsync(cancellationToken);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task OrderAsync(bool take, Func<CancellationToken, Task> act, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _takeOrdered = take;
            await act(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }
}
