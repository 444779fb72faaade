using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Tests.Fixtures;

namespace Appliance.Bench;

/// <summary>The foundation's figures: start-to-READY, steady RSS, idle CPU, durable commits per second.</summary>
public static class AgentBenchmarks
{
    public static async Task StartToReadyAsync(int starts)
    {
        var samples = new List<double>();
        using var temp = new TempDir();
        for (var i = 0; i < starts; i++)
        {
            using var notify = new NotifySocket(temp.File($"notify{i}.sock"));
            await using var agent = new AgentProcess(temp.File("data"), environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path });
            var clock = Stopwatch.StartNew();
            agent.Start();
            await notify.WaitForAsync("READY=1", TimeSpan.FromSeconds(60));
            samples.Add(clock.Elapsed.TotalMilliseconds);
            agent.Signal(Signals.SIGTERM);
            await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        Report.Line("start to READY=1", $"median {Stats.Median(samples):F0} ms, max {samples.Max():F0} ms over {starts} starts", "target ≤ 1500 ms");
    }

    /// <summary>RSS after <paramref name="settle"/> and idle CPU after it, with where the RSS sits.</summary>
    /// <param name="label">Which binary: the build output `make run` starts or the published agent that ships.</param>
    public static async Task SteadyStateAsync(TimeSpan settle, TimeSpan idleWindow, string label, string executable)
    {
        using var temp = new TempDir();
        await using var agent = new AgentProcess(temp.File("data"), executable: executable);
        agent.Start();
        await agent.WaitReadyAsync();
        await Task.Delay(settle);
        var rssMb = ProcStat.RssBytes(agent.Pid) / (1024.0 * 1024.0);
        Report.Line($"RSS after {settle.TotalSeconds:F0} s, {label}", $"{rssMb:F1} MB", "target ≤ 80 MB");
        Report.Line("  of which", MemoryBreakdown.Read(agent.Pid).ToString(), "");

        if (idleWindow <= TimeSpan.Zero)
        {
            return;
        }

        var cpu = await ProcStat.CpuPercentAsync(agent.Pid, idleWindow);
        Report.Line($"idle CPU over {idleWindow.TotalSeconds:F0} s, {label}", $"{cpu:F2} % of one core", "target ≤ 1 %");
    }

    public static async Task DurableCommitsAsync(TimeSpan window)
    {
        using var temp = new TempDir();
        await using var agent = new AgentProcess(temp.File("data"), new Dictionary<string, string> { ["Appliance:Store:HistoryCap"] = "1000000" });
        agent.Start();
        await agent.WaitReadyAsync();
        using var http = agent.CreateLocalClient();
        var settings = new HaSettings { FencingEnabled = false };
        var commits = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < window)
        {
            settings = settings with { HeartbeatInterval = TimeSpan.FromMilliseconds(100 + commits % 900) };
            using var response = await http.PutAsJsonAsync("api/v1/ha/settings", settings, ApiJsonContext.Default.HaSettings);
            response.EnsureSuccessStatusCode();
            commits++;
        }

        Report.Line("durable state changes", string.Create(CultureInfo.InvariantCulture, $"{commits / clock.Elapsed.TotalSeconds:F0} per second (each checkpointed + fsync'd, via the API)"), "");
    }
}
