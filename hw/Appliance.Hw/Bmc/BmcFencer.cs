using System.Diagnostics;
using Appliance.Core.Ports;

namespace Appliance.Hw.Bmc;

/// <summary>
/// Fences the peer through its BMC: hard power off, then poll power status until it reads Off, all
/// bounded by the fencing timeout. Never trusts the power command alone (fence_ipmilan's "onoff" method).
/// </summary>
public sealed class BmcFencer(IBmcPower peerBmc, FencingOptions options, TimeProvider timeProvider) : IPeerFencer
{
    /// <inheritdoc />
    public async Task<FenceResult> FenceAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var started = timeProvider.GetTimestamp();
        using var deadline = new CancellationTokenSource(options.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var token = linked.Token;
        try
        {
            await peerBmc.SetPowerAsync(BmcPowerAction.Off, token);
            while (true)
            {
                var state = await peerBmc.GetPowerStateAsync(token);
                if (state == BmcPowerState.Off)
                    return Result(FenceOutcome.ConfirmedOff, "peer BMC confirms power off", started);
                await Task.Delay(options.PollInterval, timeProvider, token);
            }
        }
        catch (BmcException ex) when (ex.Kind is BmcErrorKind.Unreachable or BmcErrorKind.Timeout)
        {
            return Result(FenceOutcome.BmcUnreachable, ex.Message, started);
        }
        catch (BmcException ex)
        {
            return Result(FenceOutcome.Failed, ex.Message, started);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Result(FenceOutcome.Failed, $"power off not confirmed within {options.Timeout.TotalSeconds:0.#} s", started);
        }
    }

    /// <inheritdoc />
    public async Task<FenceResult> CheckAsync(CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        using var deadline = new CancellationTokenSource(options.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            // Reading power status needs a logged-in session: it proves reachability and credentials, powers nothing.
            var state = await peerBmc.GetPowerStateAsync(linked.Token);
            return Result(FenceOutcome.CheckPassed,
                $"peer BMC answers with valid credentials; peer power is {state.ToString().ToLowerInvariant()}", started);
        }
        catch (BmcException ex) when (ex.Kind is BmcErrorKind.Unreachable or BmcErrorKind.Timeout)
        {
            return Result(FenceOutcome.BmcUnreachable, ex.Message, started);
        }
        catch (BmcException ex)
        {
            return Result(FenceOutcome.Failed, ex.Message, started);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Result(FenceOutcome.BmcUnreachable, $"peer BMC did not answer within {options.Timeout.TotalSeconds:0.#} s", started);
        }
    }

    private FenceResult Result(FenceOutcome outcome, string detail, long started) =>
        new(outcome, detail, timeProvider.GetElapsedTime(started));
}
