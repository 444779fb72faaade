using Appliance.Bench;

// Figures go to the README's performance section with this command line (make bench).
var quick = args.Contains("--quick");
Console.Out.WriteLine($"appliance-bench on {Environment.ProcessorCount} cores{(quick ? " (quick)" : "")}");

// `--only fencing`: just the BMC fencing section.
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
if (only is not null && only != "fencing")
{
    Console.Error.WriteLine($"appliance-bench: --only '{only}' is unknown: allowed fencing");
    return 2;
}

if (only is null)
{
    Report.Section("agent (foundation)");
    await AgentBenchmarks.StartToReadyAsync(10);
    await AgentBenchmarks.SteadyStateAsync(quick ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(60), quick ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30));
    await AgentBenchmarks.DurableCommitsAsync(TimeSpan.FromSeconds(quick ? 3 : 10));

    var runs = quick ? 5 : 20;
    Report.Section("failover (two agents, embedded brokers, loopback)");
    await FailoverBenchmarks.SigkillAsync(runs);
    await FailoverBenchmarks.SigstopAsync(runs, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), "SIGSTOP, 100 ms / 300 ms", "target ≤ 400 ms; keepalived 0.34–0.41 s at advert 0.1 s");
    await FailoverBenchmarks.SigstopAsync(runs, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), "SIGSTOP, defaults (1 s / 3 s)", "target ≤ 3.5 s");
    await FailoverBenchmarks.HeartbeatCostAndStarvationAsync(TimeSpan.FromSeconds(quick ? 10 : 30), args.Contains("--soak") ? TimeSpan.FromMinutes(10) : TimeSpan.FromSeconds(quick ? 20 : 60));
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
