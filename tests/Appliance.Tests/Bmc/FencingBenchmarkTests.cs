using System.Globalization;
using Appliance.Core.Ports;
using Appliance.Hw.Bmc;
using Appliance.Tests.Fixtures;
using Xunit.Abstractions;

namespace Appliance.Tests.Bmc;

/// <summary>
/// Fencing time against ipmi_sim, median of 10 (cheap: ~3 s). Correctness is asserted (every run confirmed off,
/// every peer process gone); the time is reported, never asserted. `make bench` can set APPLIANCE_BENCH_OUT to a file.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FencingBenchmarkTests(ITestOutputHelper output) : IDisposable
{
    private readonly IpmiSimulator _sim = IpmiSimulator.Start();

    public void Dispose() => _sim.Dispose();

    [Fact]
    [Trait("Category", "Bench")]
    public async Task Fencing_median_of_10_against_ipmi_sim()
    {
        var options = _sim.Options();
        var target = BmcFactory.Create(options)!;
        var peers = new List<int>();
        var fencer = new PeerPidRecorder(BmcFactory.CreateFencer(new FencingOptions
        {
            Enabled = true, Bmc = options, PollInterval = TimeSpan.FromMilliseconds(50),
        })!, () => peers.Add(_sim.HostPid!.Value));

        var result = await FencingBenchmark.MeasureAsync(target, fencer, 10, CancellationToken.None);

        Assert.Equal(10, result.Samples.Count);
        Assert.Equal(10, peers.Distinct().Count());
        Assert.All(peers, pid => Assert.True(IpmiSimulator.IsGone(pid), $"peer {pid} survived"));
        var line = string.Create(CultureInfo.InvariantCulture,
            $"fencing (ipmitool lanplus -> ipmi_sim, power off confirmed): median {result.Median.TotalMilliseconds:0} ms, min {result.Min.TotalMilliseconds:0} ms, max {result.Max.TotalMilliseconds:0} ms, n=10");
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("APPLIANCE_BENCH_OUT") is { Length: > 0 } file)
            await File.AppendAllTextAsync(file, line + "\n");
    }

    /// <summary>Notes the peer's pid just before each fence so the test can prove every one died.</summary>
    private sealed class PeerPidRecorder(IPeerFencer inner, Action beforeFence) : IPeerFencer
    {
        public Task<FenceResult> FenceAsync(CancellationToken cancellationToken)
        {
            beforeFence();
            return inner.FenceAsync(cancellationToken);
        }

        public Task<FenceResult> CheckAsync(CancellationToken cancellationToken) => inner.CheckAsync(cancellationToken);
    }
}
