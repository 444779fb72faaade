using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Ha;

/// <summary>
/// How the pair fixture copes when starting a pair goes wrong. "establish got no answer" (issue #3): a killed agent
/// still reads HasExited=false for milliseconds after its socket closed, so the report used to say "exited: False"
/// with an output cut short — a death that looked like the agent closing the connection itself.
/// </summary>
public sealed class AgentPairStartTests
{
    [Fact]
    public async Task An_agent_killed_during_establish_is_reported_as_killed_not_as_running()
    {
        using var temp = new TempDir();
        // Accepts the discovery client's TCP connection and never answers its CONNECT: establish waits in the handler.
        using var silentBroker = new TcpListener(IPAddress.Loopback, 0);
        silentBroker.Start();
        var silentPort = ((IPEndPoint)silentBroker.LocalEndpoint).Port;
        await using var agent = new AgentProcess(temp.File("a"), new Dictionary<string, string>
        {
            ["Appliance:NodeName"] = "a",
            ["Appliance:Ha:PeerLink:EmbeddedBroker:BindAddress"] = "127.0.0.1",
            ["Appliance:Ha:PeerLink:EmbeddedBroker:Port"] = FreePort.Tcp().ToString(CultureInfo.InvariantCulture),
        });
        agent.Start();
        await agent.WaitReadyAsync();

        var establish = AgentPair.EstablishAsync(agent, "127.0.0.1", silentPort, RandomNumberGenerator.GetBytes(32));
        await Poll.UntilAsync(silentBroker.Pending, TimeSpan.FromSeconds(20), () => "the agent's discovery client connects to the peer broker");
        agent.Signal(Signals.SIGKILL);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => establish);
        Assert.Contains("got no answer (HttpRequestException: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("(ResponseEnded)", error.Message, StringComparison.Ordinal); // the connection closed before any byte of an answer
        Assert.Contains("the agent killed by SIGKILL (exit code 137)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pair_whose_broker_port_was_taken_meanwhile_starts_again_on_fresh_ports()
    {
        // What a parallel test does by chance between FreePort and the agent's bind; a broker binds without
        // SO_REUSEPORT, so the agent stops with exit 4 instead of sharing the port.
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var handedOut = new List<int>();

        await using var pair = await AgentPair.StartEmbeddedAsync(null, () =>
        {
            handedOut.Add(handedOut.Count == 0 ? taken : FreePort.Tcp());
            return handedOut[^1];
        });

        Assert.Equal(4, handedOut.Count); // two ports for the attempt that lost the race, two for the one that paired
        Assert.DoesNotContain(taken, pair.BrokerPorts);
        Assert.True(await pair.ExactlyOneActiveAsync());
    }

    [Fact]
    public void A_port_the_os_hands_out_twice_is_given_to_one_caller_only()
    {
        // Below the ephemeral range: no real probe of this run can have handed these out.
        var probes = new Queue<int>([101, 101, 102]);

        Assert.Equal(101, FreePort.Unique(probes.Dequeue));
        Assert.Equal(102, FreePort.Unique(probes.Dequeue)); // the second probe's 101 is skipped
        Assert.Empty(probes);
    }
}
