using Appliance.Bench;

// Figures go to the README's performance section with this command line (make bench).
// --only NAME runs one part: fencing (the BMC section), heartbeat-cpu (10 Hz) or pair-cpu (1 s) with
// --window SECONDS, sigkill with --runs N.
var quick = args.Contains("--quick");
var only = Option("--only");
var runs = int.TryParse(Option("--runs"), out var n) ? n : quick ? 5 : 20;
var cpuWindow = TimeSpan.FromSeconds(int.TryParse(Option("--window"), out var w) ? w : quick ? 10 : 30);
Console.Out.WriteLine($"appliance-bench on {Environment.ProcessorCount} cores{(quick ? " (quick)" : "")}");

switch (only)
{
    case null or "fencing":
        break;
    case "heartbeat-cpu":
        await FailoverBenchmarks.HeartbeatCpuOnlyAsync(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), cpuWindow, "heartbeat CPU at 10 Hz (one agent)", "target ≤ 2 %");
        return 0;
    case "pair-cpu":
        await FailoverBenchmarks.HeartbeatCpuOnlyAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), cpuWindow, "paired CPU at 1 Hz (one agent)", "");
        return 0;
    case "sigkill":
        await FailoverBenchmarks.SigkillAsync(runs);
        return 0;
    default:
        Console.Error.WriteLine($"appliance-bench: --only '{only}' is unknown: allowed fencing, heartbeat-cpu, pair-cpu, sigkill");
        return 2;
}

if (only is null)
{
    Report.Section("agent (foundation)");
    await AgentBenchmarks.StartToReadyAsync(10);
    await AgentBenchmarks.SteadyStateAsync(quick ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(60), quick ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30));
    await AgentBenchmarks.DurableCommitsAsync(TimeSpan.FromSeconds(quick ? 3 : 10));

    Report.Section("failover (two agents, embedded brokers, loopback)");
    await FailoverBenchmarks.SigkillAsync(runs);
    await FailoverBenchmarks.SigstopAsync(runs, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), "SIGSTOP, 100 ms / 300 ms", "target ≤ 400 ms; keepalived 0.34–0.41 s at advert 0.1 s");
    await FailoverBenchmarks.SigstopAsync(runs, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), "SIGSTOP, defaults (1 s / 3 s)", "target ≤ 3.5 s");
    await FailoverBenchmarks.HeartbeatCostAndStarvationAsync(cpuWindow, args.Contains("--soak") ? TimeSpan.FromMinutes(10) : TimeSpan.FromSeconds(quick ? 20 : 60));
}

Report.Section("fencing (BMC)");
await FailoverBenchmarks.FencingAsync(10);
await FailoverBenchmarks.FencingAddedTimeAsync(quick ? 3 : 10);

if (only is null)
{
    Report.Section("front panel");
    await Appliance.Tests.FrontPanel.PanelBenchmark.RunAsync(Console.Out);
}

return 0;

string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
