using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Ha;

/// <summary>
/// "establish got no answer" (issue #3): what the pair fixture reports when the answer breaks off. A killed agent
/// still reads HasExited=false for milliseconds after its socket closed, so the report used to say "exited: False"
/// with an output cut short — a death that looked like the agent closing the connection itself.
/// </summary>
public sealed class EstablishLostAnswerTests
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
}
