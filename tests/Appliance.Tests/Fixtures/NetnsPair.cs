using Appliance.Hw.Processes;

namespace Appliance.Tests.Fixtures;

/// <summary>
/// Two network namespaces joined by a veth pair: "node" (interface <see cref="NodeInterface"/>, 10.77.0.1/24)
/// plays the appliance, "neighbour" (10.77.0.2/24) plays the switch/router whose ARP cache must follow the
/// shared address. Names are unique per instance so tests run in parallel; everything is deleted on dispose.
/// </summary>
public sealed class NetnsPair : IDisposable
{
    public const string NodeInterface = "apl0";
    public const string NeighbourInterface = "apl1";

    private static int s_counter;

    public NetnsPair()
    {
        string suffix = $"{Environment.ProcessId % 100000}-{Interlocked.Increment(ref s_counter)}";
        Node = "apl-n-" + suffix;
        Neighbour = "apl-m-" + suffix;
        Ip("netns", "add", Node);
        Ip("netns", "add", Neighbour);
        // Created inside the node namespace, so the root namespace never sees (or clashes on) the names.
        Ip("-n", Node, "link", "add", NodeInterface, "type", "veth", "peer", "name", NeighbourInterface, "netns", Neighbour);
        Ip("-n", Node, "addr", "add", "10.77.0.1/24", "dev", NodeInterface);
        Ip("-n", Neighbour, "addr", "add", "10.77.0.2/24", "dev", NeighbourInterface);
        Ip("-n", Node, "link", "set", NodeInterface, "up");
        Ip("-n", Node, "link", "set", "lo", "up"); // an agent started in here binds 127.0.0.1
        Ip("-n", Neighbour, "link", "set", NeighbourInterface, "up");
    }

    public string Node { get; }

    public string Neighbour { get; }

    /// <summary>Runs commands inside the node namespace: the adapter under test is unchanged, only where its argv runs.</summary>
    public ICommandRunner NodeRunner() => new InNamespace(Node, new ProcessCommandRunner());

    /// <summary>Runs <c>ip ARGS</c> and returns stdout; throws with stderr on failure.</summary>
    public static string Ip(params string[] args) => Tool.Checked("ip", args);

    public string NodeAddresses() => Ip("-n", Node, "-4", "-o", "addr", "show", "dev", NodeInterface);

    public string NodeMac() => Ip("-n", Node, "-o", "link", "show", NodeInterface).Split("link/ether ")[1].Split(' ')[0];

    /// <summary>The neighbour's ARP entry for <paramref name="address"/>: "lladdr … STATE", or empty.</summary>
    public string NeighbourEntry(string address) => Ip("-n", Neighbour, "neigh", "show", address, "dev", NeighbourInterface).Trim();

    public void Dispose()
    {
        foreach (string ns in new[] { Node, Neighbour })
        {
            try
            {
                Ip("netns", "del", ns);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
    }

    private sealed class InNamespace(string ns, ICommandRunner inner) : ICommandRunner
    {
        public Task<CommandOutcome> RunAsync(CommandSpec spec, CancellationToken cancellationToken) =>
            inner.RunAsync(spec with { Executable = "ip", Arguments = ["netns", "exec", ns, spec.Executable, .. spec.Arguments] }, cancellationToken);
    }
}
