using Appliance.Core.Ports;
using Appliance.Hw.Bmc;

namespace Appliance.Tests.Bmc;

/// <summary>The fencer's retry rule on a scripted BMC: transient failures are asked again, refusals are final.</summary>
public sealed class BmcFencerRetryTests
{
    private static readonly FencingOptions Options = new() { Enabled = true, Timeout = TimeSpan.FromSeconds(5), PollInterval = TimeSpan.FromMilliseconds(20) };

    [Fact]
    public async Task A_BMC_that_times_out_once_is_asked_again_and_the_fence_is_confirmed()
    {
        var bmc = new ScriptedPower(
            setPower: [new BmcException(BmcErrorKind.Timeout, "ipmitool chassis power off did not finish within 1 s (killed)"), null],
            states: [BmcPowerState.On, BmcPowerState.Off]);

        FenceResult result = await new BmcFencer(bmc, Options, TimeProvider.System).FenceAsync(CancellationToken.None);

        Assert.Equal(FenceOutcome.ConfirmedOff, result.Outcome);
        Assert.Equal(2, bmc.PowerOffCalls);
    }

    [Fact]
    public async Task A_refusal_is_final_at_once()
    {
        var bmc = new ScriptedPower(setPower: [new BmcException(BmcErrorKind.AuthenticationFailed, "BMC rejected user 'root'")], states: []);

        FenceResult result = await new BmcFencer(bmc, Options, TimeProvider.System).FenceAsync(CancellationToken.None);

        Assert.Equal(FenceOutcome.Failed, result.Outcome);
        Assert.Equal("BMC rejected user 'root'", result.Detail);
        Assert.Equal(1, bmc.PowerOffCalls);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(1), $"took {result.Elapsed}");
    }

    [Fact]
    public async Task A_BMC_that_never_answers_is_unreachable_after_the_timeout_with_the_last_error()
    {
        var options = new FencingOptions { Enabled = true, Timeout = TimeSpan.FromMilliseconds(300), PollInterval = TimeSpan.FromMilliseconds(20) };
        var bmc = new ScriptedPower(setPower: [new BmcException(BmcErrorKind.Unreachable, "BMC 10.0.0.9:623 does not answer")], states: []);

        FenceResult result = await new BmcFencer(bmc, options, TimeProvider.System).FenceAsync(CancellationToken.None);

        Assert.Equal(FenceOutcome.BmcUnreachable, result.Outcome);
        Assert.Equal("BMC 10.0.0.9:623 does not answer (asked again for 0.3 s)", result.Detail);
        Assert.True(bmc.PowerOffCalls >= 2, $"asked {bmc.PowerOffCalls} times"); // asked again, however slow the machine
    }

    /// <summary>Answers power-off calls from a script (null = success; the last entry repeats) and states in order (the last repeats).</summary>
    private sealed class ScriptedPower(BmcException?[] setPower, BmcPowerState[] states) : IBmcPower
    {
        private int _stateIndex;

        public int PowerOffCalls { get; private set; }

        public Task<BmcPowerState> GetPowerStateAsync(CancellationToken cancellationToken) =>
            Task.FromResult(states[Math.Min(_stateIndex++, states.Length - 1)]);

        public Task SetPowerAsync(BmcPowerAction action, CancellationToken cancellationToken)
        {
            BmcException? failure = setPower[Math.Min(PowerOffCalls++, setPower.Length - 1)];
            return failure is null ? Task.CompletedTask : Task.FromException(failure);
        }
    }
}
