using Appliance.Core.Ports;

namespace Appliance.Hw.Bmc;

/// <summary>
/// Fences the peer through its BMC: hard power off, then poll power status until it reads Off, all
/// bounded by the fencing timeout. Never trusts the power command alone (fence_ipmilan's "onoff" method).
/// A BMC that does not answer (or answers late) is asked again until the timeout, as fence_ipmilan's
/// retries: one slow answer must not leave the pair without an Active. Refusals (credentials,
/// privilege) are final at once: asking again cannot change them.
/// </summary>
public sealed class BmcFencer(IBmcPower peerBmc, FencingOptions options, TimeProvider timeProvider) : IPeerFencer
{
    /// <inheritdoc />
    public Task<FenceResult> FenceAsync(CancellationToken cancellationToken)
    {
        BmcException? lastTransient = null;
        async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken token)
        {
            while (true)
            {
                try
                {
                    return await call(token);
                }
                catch (BmcException ex) when (ex.Kind is BmcErrorKind.Unreachable or BmcErrorKind.Timeout)
                {
                    lastTransient = ex;
                    await Task.Delay(options.PollInterval, timeProvider, token);
                }
            }
        }

        return BoundedAsync(async token =>
        {
            await RetryAsync(async t => { await peerBmc.SetPowerAsync(BmcPowerAction.Off, t); return true; }, token);
            while (await RetryAsync(peerBmc.GetPowerStateAsync, token) != BmcPowerState.Off)
                await Task.Delay(options.PollInterval, timeProvider, token);
            return (FenceOutcome.ConfirmedOff, "peer BMC confirms power off");
        }, () => lastTransient is { } dark
            ? (FenceOutcome.BmcUnreachable, $"{dark.Message} (asked again for {options.Timeout.TotalSeconds:0.#} s)")
            : (FenceOutcome.Failed, $"power off not confirmed within {options.Timeout.TotalSeconds:0.#} s"), cancellationToken);
    }

    /// <inheritdoc />
    public Task<FenceResult> CheckAsync(CancellationToken cancellationToken) =>
        BoundedAsync(async token =>
        {
            // Reading power status needs a logged-in session: it proves reachability and credentials, powers nothing.
            var state = await peerBmc.GetPowerStateAsync(token);
            return (FenceOutcome.CheckPassed, $"peer BMC answers with valid credentials; peer power is {state.ToString().ToLowerInvariant()}");
        }, () => (FenceOutcome.BmcUnreachable, $"peer BMC did not answer within {options.Timeout.TotalSeconds:0.#} s"), cancellationToken);

    /// <summary>Runs one fencing step under the fencing timeout and maps every failure to an outcome with Elapsed.</summary>
    private async Task<FenceResult> BoundedAsync(Func<CancellationToken, Task<(FenceOutcome, string)>> step,
        Func<(FenceOutcome, string)> onDeadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var started = timeProvider.GetTimestamp();
        using var deadline = new CancellationTokenSource(options.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        FenceOutcome outcome;
        string detail;
        try
        {
            (outcome, detail) = await step(linked.Token);
        }
        catch (BmcException ex)
        {
            outcome = ex.Kind is BmcErrorKind.Unreachable or BmcErrorKind.Timeout ? FenceOutcome.BmcUnreachable : FenceOutcome.Failed;
            detail = ex.Message;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            (outcome, detail) = onDeadline();
        }

        return new FenceResult(outcome, detail, timeProvider.GetElapsedTime(started));
    }
}
