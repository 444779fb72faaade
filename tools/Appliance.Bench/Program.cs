using Appliance.Bench;
using Appliance.Tests.Fixtures;

// Figures go to docs/performance.md with this command line (make bench).
// --only NAME[,NAME]: ready, rss, commits, failover, sigkill, heartbeat-cpu, mqtt-floor, pair-cpu, starvation, fencing, panel.
// --runs N (failover runs), --window SECONDS (CPU windows), --soak (10 min of full CPU for false failovers).
// APPLIANCE_AGENT_EXE (set by `make bench` to the agent images/publish.sh ships) selects the binary every figure runs.
if (args.FirstOrDefault() == MqttFloorBenchmark.NodeArgument)
{
    return await MqttFloorBenchmark.RunNodeAsync(args); // a child of the mqtt-floor figure
}

var quick = args.Contains("--quick");
var only = Option("--only")?.Split(',');
string[] figures = ["ready", "rss", "commits", "failover", "sigkill", "heartbeat-cpu", "mqtt-floor", "pair-cpu", "starvation", "fencing", "panel"];
if (only?.Except(figures).ToArray() is { Length: > 0 } unknown)
{
    Console.Error.WriteLine($"appliance-bench: --only {string.Join(',', unknown)}: unknown figure (allowed: {string.Join(", ", figures)})");
    return 2;
}

var runs = int.TryParse(Option("--runs"), out var n) ? n : quick ? 5 : 20;
var cpuWindow = TimeSpan.FromSeconds(int.TryParse(Option("--window"), out var w) ? w : quick ? 10 : 30);
bool Runs(string figure) => only is null || only.Contains(figure);

Console.Out.WriteLine($"appliance-bench on {Environment.ProcessorCount} cores{(quick ? " (quick)" : "")}; agent: {RepoPaths.AgentExecutable}");

if (Runs("ready") || Runs("rss") || Runs("commits"))
{
    Report.Section("agent (foundation)");
}

if (Runs("ready"))
{
    await AgentBenchmarks.StartToReadyAsync(10);
}

if (Runs("rss"))
{
    var settle = quick ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(60);
    var shipped = RepoPaths.AgentExecutable != RepoPaths.BuiltAgentExecutable;
    await AgentBenchmarks.SteadyStateAsync(settle, quick ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30), shipped ? "shipped" : "build output", RepoPaths.AgentExecutable);
    if (shipped)
    {
        // The framework-dependent build `make run` starts, for comparison (no idle-CPU window).
        await AgentBenchmarks.SteadyStateAsync(settle, TimeSpan.Zero, "build output", RepoPaths.BuiltAgentExecutable);
    }
}

if (Runs("commits"))
{
    await AgentBenchmarks.DurableCommitsAsync(TimeSpan.FromSeconds(quick ? 3 : 10));
}

if (Runs("failover") || Runs("sigkill") || Runs("heartbeat-cpu") || Runs("mqtt-floor") || Runs("pair-cpu") || Runs("starvation"))
{
    Report.Section("failover (two agents, embedded brokers, loopback)");
}

if (Runs("failover") || Runs("sigkill"))
{
    await FailoverBenchmarks.SigkillAsync(runs);
}

if (Runs("failover"))
{
    await FailoverBenchmarks.SigstopAsync(runs, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), "SIGSTOP, 100 ms / 300 ms", "target ≤ 400 ms; keepalived 0.34–0.41 s at advert 0.1 s");
    await FailoverBenchmarks.SigstopAsync(runs, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), "SIGSTOP, defaults (1 s / 3 s)", "target ≤ 3.5 s");
}

if (Runs("failover") || Runs("starvation"))
{
    await FailoverBenchmarks.HeartbeatCostAndStarvationAsync(cpuWindow, args.Contains("--soak") ? TimeSpan.FromMinutes(10) : TimeSpan.FromSeconds(quick ? 20 : 60));
}

if (Runs("heartbeat-cpu"))
{
    await FailoverBenchmarks.HeartbeatCpuOnlyAsync(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), cpuWindow, "heartbeat CPU at 10 Hz (one agent)", "target ≤ 2 %");
}

if (Runs("mqtt-floor"))
{
    await MqttFloorBenchmark.RunAsync(cpuWindow);
}

if (Runs("pair-cpu"))
{
    await FailoverBenchmarks.HeartbeatCpuOnlyAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), cpuWindow, "paired CPU at 1 Hz (one agent)", "");
}

if (Runs("fencing"))
{
    Report.Section("fencing (BMC)");
    await FailoverBenchmarks.FencingAsync(10);
    await FailoverBenchmarks.FencingAddedTimeAsync(quick ? 3 : 10);
}

if (Runs("panel"))
{
    Report.Section("front panel");
    await Appliance.Tests.FrontPanel.PanelBenchmark.RunAsync(Console.Out);
}

return 0;

string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
