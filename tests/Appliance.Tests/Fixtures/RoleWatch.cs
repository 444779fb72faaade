using System.Collections.Concurrent;
using System.Diagnostics;

namespace Appliance.Tests.Fixtures;

/// <summary>
/// Samples both nodes' load-balancer roles in the background (<see cref="AgentPair.WatchRoles"/>), so a test can
/// assert an invariant over a whole scenario, restarts included, instead of only at its end. Both nodes are
/// asked at once: a sample cannot pair a role read before a handover with one read after it.
/// </summary>
public sealed class RoleWatch : IAsyncDisposable
{
    private readonly ConcurrentQueue<RoleSample> _samples = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    internal RoleWatch(AgentProcess a, AgentProcess b, TimeSpan interval)
    {
        var clock = Stopwatch.StartNew();
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                string?[] roles = await Task.WhenAll(AgentPair.RoleAsync(a), AgentPair.RoleAsync(b));
                _samples.Enqueue(new RoleSample(clock.Elapsed, a, roles[0], b, roles[1]));
                try
                {
                    await Task.Delay(interval, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // stopped
                }
            }
        });
    }

    /// <summary>Roles of A and B as the endpoint answered them at <see cref="At"/>; null: down or not answering.</summary>
    public sealed record RoleSample(TimeSpan At, AgentProcess A, string? RoleA, AgentProcess B, string? RoleB)
    {
        public string? this[AgentProcess node] => node == A ? RoleA : node == B ? RoleB : throw new ArgumentException("not a node of this pair", nameof(node));

        public bool BothActive => RoleA == "Active" && RoleB == "Active";

        public override string ToString() => $"{At.TotalSeconds,6:0.00}s A {RoleA ?? "-"}, B {RoleB ?? "-"}";
    }

    public IReadOnlyList<RoleSample> Samples => [.. _samples];

    /// <summary>The samples where the roles changed, one a line: what a failure message needs.</summary>
    public string Timeline
    {
        get
        {
            IReadOnlyList<RoleSample> samples = Samples;
            return string.Join('\n', samples.Where((s, i) => i == 0 || (s.RoleA, s.RoleB) != (samples[i - 1].RoleA, samples[i - 1].RoleB)));
        }
    }

    /// <summary>Stops sampling and fails if any sample broke <paramref name="invariant"/>.</summary>
    public async Task AssertAlwaysAsync(Func<RoleSample, bool> invariant, string what)
    {
        await StopAsync();
        IReadOnlyList<RoleSample> samples = Samples;
        Assert.True(samples.Count > 0, "no role samples were taken");
        RoleSample? broken = samples.FirstOrDefault(s => !invariant(s));
        Assert.True(broken is null, $"{what}: broken at {broken} ({samples.Count} samples); timeline of changes:\n{Timeline}");
    }

    public Task AssertNeverTwoActivesAsync() => AssertAlwaysAsync(s => !s.BothActive, "never two Actives");

    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        await _loop;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
