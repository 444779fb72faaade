using System.Net.Http.Json;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Tests.Fixtures;
using Appliance.Tests.Mqtt;

namespace Appliance.Tests.Ha;

/// <summary>Two real agents, real brokers, real signals; roles read through the load-balancer endpoint.</summary>
public class HaProcessTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Sigkill_of_the_active_fails_over_then_it_rejoins_passive_and_a_planned_switch_brings_it_back()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var active = await pair.ActiveAsync();
        var passive = pair.Other(active);

        active.Signal(Signals.SIGKILL);
        await active.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "the Passive takes over after SIGKILL");

        active.Start(); // same data dir: its persisted role was Active
        await active.WaitReadyAsync();
        await pair.WaitForAsync(pair.ExactlyOneActiveAsync, Generous, "the restarted node rejoins");
        Assert.Equal("Passive", await AgentPair.RoleAsync(active)); // never comes up Active next to an Active peer

        using var http = active.CreateLocalClient();
        using var response = await http.PostAsJsonAsync("api/v1/ha/become-primary", new SwitchRequest(false, false), ApiJsonContext.Default.SwitchRequest);
        var result = (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.CommandResult))!;
        Assert.True(result.Ok, result.Message);
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(active) == "Active" && await AgentPair.RoleAsync(passive) == "Passive",
            Generous, "planned switch back");
        active.AssertNoErrorsLogged();
        passive.AssertNoErrorsLogged();
    }

    [Fact]
    public async Task A_timeout_shorter_than_the_peers_interval_is_refused_and_settings_changed_in_steps_apply_without_a_failover()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var (active, passive) = await pair.SettledAsync(Generous);
        long epoch = (await AgentPair.HaStatusAsync(active)).Epoch;
        var fast = new HaSettings { HeartbeatInterval = TimeSpan.FromMilliseconds(200), PartnerFailoverTimeout = TimeSpan.FromMilliseconds(600), FencingEnabled = false };

        // The Passive first: its 600 ms timeout is shorter than twice the Active's 1 s heartbeat interval.
        using (var http = passive.CreateLocalClient())
        {
            string before = await http.GetStringAsync(new Uri("api/v1/ha/settings", UriKind.Relative));
            using var refused = await http.PutAsJsonAsync("api/v1/ha/settings", fast, ApiJsonContext.Default.HaSettings);
            string error = (await refused.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiError))!.Error;

            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("PartnerFailoverTimeout=600ms is shorter than twice the peer's HeartbeatInterval=1s: allowed 2s or more (shorten the peer's HeartbeatInterval first)", error);
            Assert.Equal(before, await http.GetStringAsync(new Uri("api/v1/ha/settings", UriKind.Relative)));
            Assert.Equal(PeerTiming.Of(new HaSettings()), (await AgentPair.HaStatusAsync(active)).Engine!.PeerTiming); // nothing was announced
        }

        // In steps (shorter interval on both, then the shorter timeout), as the refusal says.
        await pair.PutHaSettingsAsync(fast, passive, active);
        var status = await CtlProcess.RunAsync(["ha", "status", "--socket", active.SocketPath]);
        Assert.Contains("HeartbeatInterval 200ms, PartnerFailoverTimeout 600ms", status.StdOut, StringComparison.Ordinal); // the technician sees the peer's side

        // Several new failover timeouts pass: a settings change must not look like a loss to either side.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            string roles = $"{await AgentPair.RoleAsync(active)}/{await AgentPair.RoleAsync(passive)}";
            Assert.True(roles == "Active/Passive", $"{roles} after the settings change\n{await AgentPair.HistoryTextAsync(passive)}");
            await Task.Delay(100);
        }

        Assert.Equal(epoch, (await AgentPair.HaStatusAsync(active)).Epoch);
        Assert.Equal(epoch, (await AgentPair.HaStatusAsync(passive)).Engine!.PeerEpoch);
        // And they are live: the Passive's takeover cause names the new timeout.
        active.Signal(Signals.SIGSTOP);
        try
        {
            await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "takeover after the silent loss");
            string history = await AgentPair.HistoryTextAsync(passive);
            Assert.True(history.Contains("silent on every path for PartnerFailoverTimeout=600ms", StringComparison.Ordinal), history);
        }
        finally
        {
            active.Signal(Signals.SIGCONT);
        }
    }

    [Fact]
    public async Task Rotating_the_key_on_both_nodes_causes_no_failover()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var active = await pair.ActiveAsync();
        var passive = pair.Other(active);
        var epoch = (await AgentPair.HaStatusAsync(active)).Epoch;
        var newKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        foreach (var node in new[] { passive, active })
        {
            using var http = node.CreateLocalClient();
            using var response = await http.PostAsJsonAsync("api/v1/ha/rotate-key", new RotateKeyRequest(newKey), ApiJsonContext.Default.RotateKeyRequest);
            var result = (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.CommandResult))!;
            Assert.True(result.Ok, result.Message);
            await Task.Delay(TimeSpan.FromSeconds(2)); // a rotation on one side alone must not break the pair
            Assert.Equal("Active", await AgentPair.RoleAsync(active));
            Assert.Equal("Passive", await AgentPair.RoleAsync(passive));
        }

        await Task.Delay(TimeSpan.FromSeconds(4)); // past PartnerFailoverTimeout with only the new key in use
        Assert.Equal("Active", await AgentPair.RoleAsync(active));
        Assert.Equal("Passive", await AgentPair.RoleAsync(passive));
        var status = await AgentPair.HaStatusAsync(active);
        Assert.Equal(epoch, status.Epoch);
        Assert.True(status.Engine!.PeerReachable);
        Assert.DoesNotContain(newKey, active.OutputText + passive.OutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_are_published_signed_on_the_events_topic()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var active = await pair.ActiveAsync();
        var passive = pair.Other(active);
        var received = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var frames = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
        using var client = new MQTTnet.MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            var payload = System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload);
            frames.Enqueue(payload);
            received.Enqueue(e.ApplicationMessage.Topic + " " + System.Text.Encoding.UTF8.GetString(payload));
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MQTTnet.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", pair.BrokerPorts[0]).Build());
        await client.SubscribeAsync(new MQTTnet.MqttClientSubscribeOptionsBuilder().WithTopicFilter("appliance/v1/+/+/events").Build());

        using var http = active.CreateLocalClient();
        using var response = await http.PostAsJsonAsync("api/v1/ha/become-backup", new SwitchRequest(false, false), ApiJsonContext.Default.SwitchRequest);
        Assert.True((await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.CommandResult))!.Ok);
        await pair.WaitForAsync(() => Task.FromResult(received.Any(m => m.Contains("RoleChanged", StringComparison.Ordinal))), Generous, "a RoleChanged event on …/events");

        var roleChanged = received.First(m => m.Contains("RoleChanged", StringComparison.Ordinal));
        Assert.Matches("^appliance/v1/[^/]+/[0-9a-f]{16}/events ", roleChanged);
        Assert.Contains("\"ev\":", roleChanged, StringComparison.Ordinal);
        // Signed like every peer message: version byte, HMAC-SHA256 over version + JSON, then the JSON.
        var frame = frames.First(f => System.Text.Encoding.UTF8.GetString(f).Contains("RoleChanged", StringComparison.Ordinal));
        var expected = System.Security.Cryptography.HMACSHA256.HashData(pair.Key, [frame[0], .. frame.AsSpan(33)]);
        Assert.Equal(expected, frame.AsSpan(1, 32).ToArray());

        // A password reset at the panel is announced to the pair, without the password.
        async Task<string> Ctl(params string[] args) => (await CtlProcess.RunAsync(["--socket", passive.SocketPath, .. args])).StdOut;
        await Ctl("panel", "press", "down");
        await Ctl("panel", "settings", "--allow-password-reset", "on");
        var offer = (await Ctl("panel", "press", "up", "--hold", "2.5s", "--with", "down")).Split('\n');
        Assert.StartsWith("|New admin pw", offer[1], StringComparison.Ordinal);
        var password = offer[2].Trim('|').Trim();
        Assert.Contains("|Password set", await Ctl("panel", "press", "check"), StringComparison.Ordinal);
        await pair.WaitForAsync(() => Task.FromResult(received.Any(m => m.Contains("admin password reset from panel", StringComparison.Ordinal))),
            Generous, "the reset announced on …/events");
        Assert.DoesNotContain(received, m => m.Contains(password, StringComparison.Ordinal));

        // The peer records what it heard, once, in its own history.
        await pair.WaitForAsync(async () => (await AgentPair.HistoryTextAsync(active)).Contains("admin password reset from panel", StringComparison.Ordinal),
            Generous, "the reset in the peer's history");
        string peerHistory = await AgentPair.HistoryTextAsync(active);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(peerHistory, "admin password reset from panel"));
        Assert.Contains($"announced by {(await AgentPair.HaStatusAsync(active)).Engine!.PeerNodeId}", peerHistory, StringComparison.Ordinal);
        Assert.DoesNotContain(password, peerHistory, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_crash_right_after_a_broker_path_reconnected_is_ended_by_the_wills_not_the_deadline()
    {
        // The bench's 3 s SIGKILL outliers, made deterministic: after one broker restarts, the nodes' two
        // connections carry different generations, and the crash comes before a heartbeat has listed the new
        // one. Both wills must count: the older connection's (still live) and the newer one's (opened after
        // the peer's last message).
        await using var first = await MosquittoBroker.StartNewAsync();
        await using var second = await MosquittoBroker.StartNewAsync();
        await using var pair = await AgentPair.StartExternalAsync([first.PlainPort, second.PlainPort]);
        await pair.PutHaSettingsAsync(new Core.Failover.HaSettings { PartnerFailoverTimeout = TimeSpan.FromSeconds(60), FencingEnabled = false });
        var (active, passive) = await pair.SettledAsync(Generous);
        first.Kill();
        await first.StartAsync();
        await pair.WaitForAsync(async () => (await AgentPair.HaStatusAsync(active)).Paths is var paths && paths.All(p => p.Connected) && paths.Any(p => p.Reconnects > 0),
            Generous, "the Active reconnected to the restarted broker");

        active.Signal(Signals.SIGKILL);

        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "takeover by the wills (the deadline is 60 s away)");
        string history = await AgentPair.HistoryTextAsync(passive);
        Assert.True(history.Contains("offline (will", StringComparison.Ordinal), history);
    }

    [Fact]
    public async Task Two_agents_pair_and_fail_over_through_mosquitto_with_mutual_tls_configured_by_settings()
    {
        // What the in-process link tests cannot show: the Tls section bound from configuration in the real agent.
        await using var broker = await MosquittoBroker.StartNewAsync();
        broker.ExpectLogError("OpenSSL Error.*unexpected eof while reading"); // SIGKILL drops TLS without close_notify
        var pki = TestPki.Shared;
        await using var pair = await AgentPair.StartExternalAsync([broker.MutualTlsOpenPort], perNode: name => new Dictionary<string, string>
        {
            ["Appliance:Ha:PeerLink:ExternalBrokers:0:Host"] = "localhost", // the server certificate's name
            ["Appliance:Ha:PeerLink:ExternalBrokers:0:Tls:Enabled"] = "true",
            ["Appliance:Ha:PeerLink:ExternalBrokers:0:Tls:CaFile"] = pki.CaFile,
            ["Appliance:Ha:PeerLink:ExternalBrokers:0:Tls:ClientCertificateFile"] = pki.ClientCertificateFile($"node-{name}"),
            ["Appliance:Ha:PeerLink:ExternalBrokers:0:Tls:ClientKeyFile"] = pki.ClientKeyFile($"node-{name}"),
        });
        var (active, passive) = await pair.SettledAsync(Generous);
        Assert.Matches(@"New client connected from 127\.0\.0\.1:\d+ as [^ ]+ .*u'node-a'", broker.Log); // the certificate's CN
        Assert.Matches(@"New client connected from 127\.0\.0\.1:\d+ as [^ ]+ .*u'node-b'", broker.Log);
        Assert.All((await AgentPair.HaStatusAsync(active)).Paths, p => Assert.EndsWith($"(localhost:{broker.MutualTlsOpenPort}, TLS)", p.Endpoint, StringComparison.Ordinal));

        active.Signal(Signals.SIGKILL);
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "the Passive takes over through the TLS broker");
    }

    [Fact]
    public async Task A_stopped_agent_leaves_its_signed_offline_state_and_disconnects_cleanly_so_no_will_fires()
    {
        await using var broker = await MosquittoBroker.StartNewAsync();
        await using var pair = await AgentPair.StartExternalAsync([broker.PlainPort]);
        var (active, passive) = await pair.SettledAsync(Generous);
        string passiveId = (await AgentPair.HaStatusAsync(active)).Engine!.PeerNodeId!;
        DateTimeOffset stopping = DateTimeOffset.UtcNow;

        passive.Signal(Signals.SIGTERM);
        Assert.Equal(0, await passive.WaitForExitAsync(Generous));

        // mosquitto logs "disconnected." after a DISCONNECT (the will is discarded), "closed its connection." after a drop.
        await broker.WaitForLogAsync($@"Client [^ ]+\.{passiveId}\.[^ ]+ disconnected\.", Generous);
        Assert.DoesNotMatch($@"Client [^ ]+\.{passiveId}\.[^ ]+ closed its connection", broker.Log);

        // The retained state is the offline message signed at the stop, not the will built when the connection opened.
        using var late = MosquittoClientProcess.Start(
            "mosquitto_sub", "-h", "127.0.0.1", "-p", broker.PlainPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-t", $"appliance/v1/+/{passiveId}/state", "-C", "1", "-W", "5", "-F", "%x");
        Assert.Equal(0, await late.WaitForExitAsync(Generous));
        byte[] frame = Convert.FromHexString(Assert.Single(late.OutputLines));
        Assert.Equal(System.Security.Cryptography.HMACSHA256.HashData(pair.Key, [frame[0], .. frame.AsSpan(33)]), frame.AsSpan(1, 32).ToArray());
        using var message = System.Text.Json.JsonDocument.Parse(frame.AsMemory(33));
        Assert.Equal((int)Core.Heartbeat.PeerMessageKind.OfflineWill, message.RootElement.GetProperty("k").GetInt32());
        Assert.True(message.RootElement.GetProperty("t").GetDateTimeOffset() >= stopping, message.RootElement.ToString());
    }

    /// <summary>
    /// A frozen broker (SIGSTOP: connections stay open, nothing is answered) must not hold a planned stop: the offline
    /// state's publish and the DISCONNECT get 2 × OperationTimeout in all, then the link closes and the will speaks.
    /// The host's own ShutdownTimeout is set far longer, so only that bound can end the wait.
    /// </summary>
    [Fact]
    public async Task A_planned_stop_against_a_frozen_broker_ends_within_twice_OperationTimeout()
    {
        var operationTimeout = TimeSpan.FromSeconds(3);
        await using var broker = await MosquittoBroker.StartNewAsync();
        await using var pair = await AgentPair.StartExternalAsync([broker.PlainPort], new Dictionary<string, string>
        {
            ["Appliance:Ha:PeerLink:OperationTimeout"] = "00:00:03",
            ["Appliance:ShutdownTimeout"] = "00:01:00",
        });
        var (_, passive) = await pair.SettledAsync(Generous);

        await broker.SetFrozenAsync(true);
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        passive.Signal(Signals.SIGTERM);
        Assert.Equal(0, await passive.WaitForExitAsync(Generous));
        stopping.Stop();

        // The stop did meet the frozen broker: its offline state went unacknowledged.
        Assert.Matches("offline state not acknowledged|Planned disconnect did not finish within 6000 ms", passive.OutputText);
        Assert.True(stopping.Elapsed < 2 * operationTimeout + TimeSpan.FromSeconds(2), $"stopped in {stopping.Elapsed}\n{passive.OutputText}");
    }

    [Fact]
    public async Task Heartbeats_carry_the_check_health_problem_not_ok()
    {
        using var temp = new TempDir();
        string stuck = temp.File("web-stuck");
        // Once the file exists web.service runs and refuses to stop: the Passive's stray check fails and /check_health says why.
        string systemctl = HookTestKit.Script(temp.File("systemctl"), $"""
            if [ -e {stuck} ]; then
              case "$1" in
                is-active) echo active; exit 0 ;;
                stop) echo 'Job for web.service canceled' >&2; exit 1 ;;
              esac
            fi
            if [ "$1" = is-active ]; then echo inactive; exit 3; fi
            exit 0

            """);
        await using var pair = await AgentPair.StartEmbeddedAsync(HookTestKit.ManagedWebService(temp, systemctl, "00:00:01"));
        var (active, passive) = await pair.SettledAsync(Generous);
        string passiveId = (await AgentPair.HaStatusAsync(active)).Engine!.PeerNodeId!;
        var heartbeats = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
        using var client = new MQTTnet.MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            heartbeats.Enqueue(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload));
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MQTTnet.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", pair.BrokerPorts[0]).Build());
        await client.SubscribeAsync(new MQTTnet.MqttClientSubscribeOptionsBuilder().WithTopicFilter($"appliance/v1/+/{passiveId}/heartbeat").Build());

        await File.WriteAllTextAsync(stuck, "");
        string problem = "";
        using var http = passive.CreateTcpClient();
        await pair.WaitForAsync(async () =>
        {
            using var response = await http.GetAsync(new Uri("check_health", UriKind.Relative));
            problem = (await response.Content.ReadAsStringAsync()).TrimEnd('\n');
            return response.StatusCode == System.Net.HttpStatusCode.InternalServerError;
        }, Generous, "/check_health 500 on the Passive");
        heartbeats.Clear();
        await pair.WaitForAsync(() => Task.FromResult(heartbeats.Count >= 2), Generous, "heartbeats of the unhealthy Passive");

        byte[] frame = heartbeats.Last();
        Assert.Equal(System.Security.Cryptography.HMACSHA256.HashData(pair.Key, [frame[0], .. frame.AsSpan(33)]), frame.AsSpan(1, 32).ToArray());
        using var message = System.Text.Json.JsonDocument.Parse(frame.AsMemory(33));
        Assert.StartsWith("managed services: still running on a node that must not run them: web.service", problem, StringComparison.Ordinal);
        Assert.Equal(problem, message.RootElement.GetProperty("h").GetString());

        // The Active keeps what its peer last announced and shows it.
        await pair.WaitForAsync(async () => (await AgentPair.HaStatusAsync(active)).Engine!.PeerHealth == problem, Generous, "the Active shows the Passive's health");
        var status = await CtlProcess.RunAsync(["ha", "status", "--socket", active.SocketPath]);
        Assert.Matches("(?m)^Peer health +managed services: still running on a node that must not run", status.StdOut);
    }

    [Fact]
    public async Task A_planned_switch_never_shows_two_actives()
    {
        await using var pair = await AgentPair.StartEmbeddedAsync();
        var active = await pair.ActiveAsync();
        var passive = pair.Other(active);
        await using var watch = pair.WatchRoles(TimeSpan.Zero);

        using var http = active.CreateLocalClient();
        using var response = await http.PostAsJsonAsync("api/v1/ha/become-backup", new SwitchRequest(false, false), ApiJsonContext.Default.SwitchRequest);
        Assert.True((await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.CommandResult))!.Ok);
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active" && await AgentPair.RoleAsync(active) == "Passive", Generous, "switch");
        await watch.AssertNeverTwoActivesAsync();
        var history = await AgentPair.HistoryTextAsync(active);
        Assert.Contains("planned switch", history, StringComparison.Ordinal);
    }

    [Fact]
    public async Task External_brokers_losing_one_is_not_a_failover_losing_both_heals_to_one_active()
    {
        await using var first = await MosquittoBroker.StartNewAsync();
        await using var second = await MosquittoBroker.StartNewAsync();
        await using var pair = await AgentPair.StartExternalAsync([first.PlainPort, second.PlainPort]);
        var active = await pair.ActiveAsync();
        var passive = pair.Other(active);

        first.Kill();
        for (var i = 0; i < 50; i++) // 5 s, well past PartnerFailoverTimeout
        {
            Assert.Equal("Passive", await AgentPair.RoleAsync(passive));
            await Task.Delay(100);
        }

        await first.StartAsync();
        second.Kill();
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal("Active", await AgentPair.RoleAsync(active));
        Assert.Equal("Passive", await AgentPair.RoleAsync(passive));

        first.Kill(); // both gone: each side is alone
        await pair.WaitForAsync(async () => await AgentPair.RoleAsync(passive) == "Active", Generous, "the isolated Passive promotes (no fencing, no probes configured)");
        await first.StartAsync();
        await second.StartAsync();
        await pair.WaitForAsync(pair.ExactlyOneActiveAsync, Generous, "conflict resolved once the brokers are back");
    }
}
