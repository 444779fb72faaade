using Appliance.Bench;

// Figures go to the README's performance section with this command line (make bench).
var quick = args.Contains("--quick");
Console.Out.WriteLine($"appliance-bench on {Environment.ProcessorCount} cores{(quick ? " (quick)" : "")}");

Report.Section("agent (foundation)");
await AgentBenchmarks.StartToReadyAsync(10);
await AgentBenchmarks.SteadyStateAsync(quick ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(60), quick ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30));
await AgentBenchmarks.DurableCommitsAsync(TimeSpan.FromSeconds(quick ? 3 : 10));

Report.Section("front panel");
await Appliance.Tests.FrontPanel.PanelBenchmark.RunAsync(Console.Out);
return 0;
