using System.Diagnostics;
using System.Globalization;
using Appliance.Tests.Fixtures;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Appliance.Bench;

/// <summary>
/// The floor under the heartbeat CPU figure: two bare processes that exchange the agent's MQTT traffic at 10 Hz
/// over the same two paths (each hosts an MQTTnet broker, publishes into it in-process and through a client
/// connected to the other's broker, and receives on both) and do nothing else — no signing, no engine, no store,
/// no HTTP. What the agent costs above this figure is its own; this much is MQTTnet and the thread pool.
/// </summary>
public static class MqttFloorBenchmark
{
    public const string NodeArgument = "--mqtt-floor-node";

    /// <summary>About the size of a signed heartbeat frame.</summary>
    private const int PayloadBytes = 220;

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    public static async Task RunAsync(TimeSpan cpuWindow)
    {
        int portA = FreePort.Tcp(), portB = FreePort.Tcp();
        using var a = StartNode("a", portA, portB);
        using var b = StartNode("b", portB, portA);
        try
        {
            // The same schedule as the agent's figure, counted from the start instead of from settling.
            await ProcStat.FirstAndSteadyCpuAsync(a.Id, TimeSpan.FromSeconds(5), cpuWindow, "bare MQTTnet at 10 Hz, same two paths", "start", "the floor under the agent's figure");
            if (a.HasExited || b.HasExited)
            {
                throw new InvalidOperationException($"an MQTT floor node exited early, the figures above are void: {await a.StandardError.ReadToEndAsync()}{await b.StandardError.ReadToEndAsync()}");
            }
        }
        finally
        {
            a.Kill();
            b.Kill();
        }
    }

    /// <summary>Runs one node until killed: `appliance-bench --mqtt-floor-node NAME OWN_PORT PEER_PORT`.</summary>
    public static async Task<int> RunNodeAsync(string[] args)
    {
        var name = args[1];
        var ownPort = int.Parse(args[2], CultureInfo.InvariantCulture);
        var peerPort = int.Parse(args[3], CultureInfo.InvariantCulture);
        var ownTopic = $"floor/{name}/heartbeat";

        // The agent's broker and client settings (MqttPathEndpoint, EmbeddedMqttBroker): MQTT 5, 5 s keep-alive, unfragmented.
        using var server = new MqttServerFactory().CreateMqttServer(
            new MqttServerOptionsBuilder().WithDefaultEndpoint().WithDefaultEndpointPort(ownPort).WithPersistentSessions(false).WithoutPacketFragmentation().Build());
        server.InterceptingPublishAsync += _ => Task.CompletedTask;
        await server.StartAsync();

        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += _ => Task.CompletedTask;
        var options = new MqttClientOptionsBuilder()
            .WithClientId(name).WithTcpServer("127.0.0.1", peerPort).WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true).WithKeepAlivePeriod(TimeSpan.FromSeconds(5)).WithoutPacketFragmentation().Build();
        while (!client.IsConnected)
        {
            try
            {
                await client.ConnectAsync(options);
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException)
            {
                await Task.Delay(200); // the other node's broker is not up yet
            }
        }

        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter($"floor/{(name == "a" ? "b" : "a")}/heartbeat").Build());

        var payload = new byte[PayloadBytes];
        Random.Shared.NextBytes(payload);
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync())
        {
            var message = new MqttApplicationMessageBuilder().WithTopic(ownTopic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce).Build();
            await client.PublishAsync(message);
            await server.InjectApplicationMessage(new InjectedMqttApplicationMessage(message) { SenderClientId = name + "-local" });
        }

        return 0;
    }

    private static Process StartNode(string name, int ownPort, int peerPort)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(MqttFloorBenchmark).Assembly.Location);
        }

        foreach (var argument in new[] { NodeArgument, name, ownPort.ToString(CultureInfo.InvariantCulture), peerPort.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        // The runtime settings the agent ships with (its runtimeconfig): no background GC, no dynamic PGO, no pool spinning.
        start.Environment["DOTNET_gcConcurrent"] = "0";
        start.Environment["DOTNET_TieredPGO"] = "0";
        start.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0";
        return Process.Start(start) ?? throw new InvalidOperationException("could not start an MQTT floor node");
    }
}
