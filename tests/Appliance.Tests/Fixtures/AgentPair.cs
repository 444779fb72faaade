using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Appliance.Core.Api;
using Appliance.Core.Failover;

namespace Appliance.Tests.Fixtures;

/// <summary>
/// Two real agent processes paired over MQTT: by default each with its embedded broker on a free
/// loopback port pointing at the other's; or both on external brokers. Roles are read the way a load
/// balancer reads them: GET /UVMInterface/api/HighAvailability.
/// </summary>
public sealed class AgentPair : IAsyncDisposable
{
    private readonly TempDir _temp = new();
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    private AgentPair(Func<string, int, Dictionary<string, string>> settingsFor, Func<int>? pickPort = null)
    {
        pickPort ??= FreePort.Tcp;
        var brokerPorts = new[] { pickPort(), pickPort() };
        BrokerPorts = brokerPorts;
        A = new AgentProcess(_temp.File("a"), settingsFor("a", brokerPorts[0]));
        B = new AgentProcess(_temp.File("b"), settingsFor("b", brokerPorts[1]));
    }

    /// <summary>The pair's pre-shared key, so tests can verify what travels on the wire.</summary>
    public ReadOnlySpan<byte> Key => _key;

    public AgentProcess A { get; }

    public AgentProcess B { get; }

    public IReadOnlyList<int> BrokerPorts { get; }

    /// <summary>Embedded brokers: A's link goes to B's broker and back (two paths per node).</summary>
    public static Task<AgentPair> StartEmbeddedAsync(IDictionary<string, string>? extra = null) => StartEmbeddedAsync(extra, FreePort.Tcp);

    /// <param name="pickBrokerPort">Where the brokers' ports come from (a test can hand out a taken one).</param>
    internal static Task<AgentPair> StartEmbeddedAsync(IDictionary<string, string>? extra, Func<int> pickBrokerPort) =>
        StartAsync(() => new AgentPair((name, port) => Merge(extra, new Dictionary<string, string>
        {
            ["Appliance:NodeName"] = name,
            ["Appliance:Ha:PeerLink:EmbeddedBroker:BindAddress"] = "127.0.0.1",
            ["Appliance:Ha:PeerLink:EmbeddedBroker:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }), pickBrokerPort), embedded: true);

    /// <summary>External brokers only (Mosquitto): each broker is one path for both nodes.</summary>
    /// <param name="perNode">Settings for node "a" or "b" only (e.g. its client certificate).</param>
    public static Task<AgentPair> StartExternalAsync(
        IReadOnlyList<int> brokerPorts, IDictionary<string, string>? extra = null, Func<string, IDictionary<string, string>>? perNode = null) =>
        StartAsync(() => new AgentPair((name, _) =>
        {
            var settings = new Dictionary<string, string>
            {
                ["Appliance:NodeName"] = name,
                ["Appliance:Ha:PeerLink:EmbeddedBroker:Enabled"] = "false",
            };
            for (var i = 0; i < brokerPorts.Count; i++)
            {
                settings[$"Appliance:Ha:PeerLink:ExternalBrokers:{i}:Host"] = "127.0.0.1";
                settings[$"Appliance:Ha:PeerLink:ExternalBrokers:{i}:Port"] = brokerPorts[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Merge(perNode?.Invoke(name), Merge(extra, settings));
        }), embedded: false);

    /// <summary>Program.cs exit code: a listener cannot bind.</summary>
    private const int ListenerCannotBindExitCode = 4;

    private const int PortRaceAttempts = 3;

    private static async Task<AgentPair> StartAsync(Func<AgentPair> create, bool embedded)
    {
        for (var attempt = 1; ; attempt++)
        {
            var pair = create();
            try
            {
                pair.A.Start();
                pair.B.Start();
                await pair.A.WaitReadyAsync();
                await pair.B.WaitReadyAsync();
                await pair.EstablishAsync(pair.A, embedded ? pair.BrokerPorts[1] : 1);
                await pair.EstablishAsync(pair.B, embedded ? pair.BrokerPorts[0] : 1);
                await pair.WaitForAsync(() => pair.ExactlyOneActiveAsync(), TimeSpan.FromSeconds(30), "one Active and one Passive after pairing");
                return pair;
            }
            catch (InvalidOperationException) when (attempt < PortRaceAttempts && pair.LostAPortRace())
            {
                // A free port is only free until someone binds it: a parallel test (or an outgoing connection) took
                // one of ours between FreePort and the agent's bind. Fresh ports; the agent said so in one line.
                await pair.DisposeAsync();
            }
            catch
            {
                // The caller never gets the pair to dispose: its agents must not outlive the failed test.
                await pair.DisposeAsync();
                throw;
            }
        }
    }

    private bool LostAPortRace() => new[] { A, B }.Any(n => n.HasExited && n.ExitCode == ListenerCannotBindExitCode);

    public async Task EstablishAsync(AgentProcess node, int peerBrokerPort)
    {
        var result = await EstablishAsync(node, "127.0.0.1", peerBrokerPort, _key);
        Assert.True(result.Ok, $"establish on {node.DataDir}: {result.Message}");
    }

    /// <summary>
    /// POST /api/v1/ha/establish on <paramref name="node"/> and its answer (a refusal too). An answer that breaks off
    /// (or never comes: HttpClient.Timeout) throws with the whole exception chain and what became of the agent (<see cref="AgentProcess.DescribeLostAnswerAsync"/>).
    /// </summary>
    public static async Task<CommandResult> EstablishAsync(AgentProcess node, string peerHost, int peerPort, byte[] key)
    {
        using var http = node.CreateLocalClient();
        try
        {
            using var response = await http.PostAsJsonAsync("api/v1/ha/establish",
                new EstablishRequest(peerHost, peerPort, Convert.ToBase64String(key)), ApiJsonContext.Default.EstablishRequest);
            return (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.CommandResult))!;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            throw new InvalidOperationException(
                $"establish on {node.DataDir} got no answer ({MessageChain(e)}); the agent {await node.DescribeLostAnswerAsync(TimeSpan.FromSeconds(3))}", e);
        }
    }

    /// <summary>"outer ← inner ← …": the outer HttpRequestException alone does not say how the connection ended.</summary>
    private static string MessageChain(Exception error)
    {
        var messages = new List<string>();
        for (var e = error; e is not null; e = e.InnerException)
        {
            messages.Add($"{e.GetType().Name}: {e.Message}");
        }

        return string.Join(" ← ", messages);
    }

    /// <summary>The role a load balancer sees, or null when the node does not answer.</summary>
    public static async Task<string?> RoleAsync(AgentProcess node)
    {
        if (node.HasExited)
        {
            return null;
        }

        using var http = node.CreateTcpClient();
        http.Timeout = TimeSpan.FromSeconds(2);
        try
        {
            var body = await http.GetFromJsonAsync("UVMInterface/api/HighAvailability", ApiJsonContext.Default.HighAvailabilityRole);
            return body?.Role;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null; // stopped (SIGSTOP) or gone
        }
    }

    public async Task<bool> ExactlyOneActiveAsync()
    {
        var roles = await Task.WhenAll(RoleAsync(A), RoleAsync(B));
        return roles.Count(r => r == "Active") == 1 && roles.Count(r => r == "Passive") == 1;
    }

    public async Task<AgentProcess> ActiveAsync() => await RoleAsync(A) == "Active" ? A : B;

    /// <summary>
    /// Stores <paramref name="settings"/> on both nodes through PUT /api/v1/ha/settings (applied live). A node refuses
    /// a timeout shorter than twice its peer's announced heartbeat interval, so this goes as a technician would:
    /// first each node takes the shorter interval and the longer timeout, then the new settings; after each change
    /// it waits until the peer has heard the new timing.
    /// </summary>
    /// <param name="order">The nodes in the order they get the settings; both, A first, when empty.</param>
    public async Task PutHaSettingsAsync(HaSettings settings, params AgentProcess[] order)
    {
        AgentProcess[] nodes = order.Length > 0 ? order : [A, B];
        foreach (var node in nodes)
        {
            using var http = node.CreateLocalClient();
            var current = (await http.GetFromJsonAsync("api/v1/ha/settings", ApiJsonContext.Default.HaSettings))!;
            var between = settings with
            {
                HeartbeatInterval = current.HeartbeatInterval < settings.HeartbeatInterval ? current.HeartbeatInterval : settings.HeartbeatInterval,
                PartnerFailoverTimeout = current.PartnerFailoverTimeout > settings.PartnerFailoverTimeout ? current.PartnerFailoverTimeout : settings.PartnerFailoverTimeout,
            };
            if (between != settings)
            {
                await PutAnnouncedAsync(node, between);
            }
        }

        foreach (var node in nodes)
        {
            await PutAnnouncedAsync(node, settings);
        }
    }

    /// <summary>PUT /api/v1/ha/settings on <paramref name="node"/>, then wait until its peer (if paired) shows the new timing.</summary>
    private async Task PutAnnouncedAsync(AgentProcess node, HaSettings settings)
    {
        using (var http = node.CreateLocalClient())
        {
            using var response = await http.PutAsJsonAsync("api/v1/ha/settings", settings, ApiJsonContext.Default.HaSettings);
            Assert.True(response.IsSuccessStatusCode, $"PUT ha/settings on {node.DataDir}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        var announced = PeerTiming.Of(settings);
        await WaitForAsync(async () => (await HaStatusAsync(Other(node))).Engine is not { } peerView || peerView.PeerTiming == announced,
            TimeSpan.FromSeconds(10), $"{Other(node).DataDir} hears the new timing {announced}");
    }

    /// <summary>
    /// Waits for one Active and one Passive where the Passive has also heard the Active (the load balancer may see a
    /// new Active a moment before its peer does), so a loss from here on is a takeover of a known Active; and every
    /// broker path of both nodes is up, so a crash from here on leaves a will with the survivor (a node that has just
    /// restarted is heard on its peer's broker before the peer's next reconnect tick reaches its own).
    /// </summary>
    public async Task<(AgentProcess Active, AgentProcess Passive)> SettledAsync(TimeSpan timeout)
    {
        AgentProcess? active = null;
        await WaitForAsync(async () =>
        {
            if (!await ExactlyOneActiveAsync())
            {
                return false;
            }

            active = await ActiveAsync();
            HaStatus[] both = await Task.WhenAll(HaStatusAsync(active), HaStatusAsync(Other(active)));
            return both[1].Engine?.PeerRole == HaRole.Active && both.All(s => s.Paths.All(p => p.Connected));
        }, timeout, "one Active, the Passive has heard it, every broker path of both nodes is up");
        return (active!, Other(active!));
    }

    public AgentProcess Other(AgentProcess node) => node == A ? B : A;

    /// <summary>Samples both roles every <paramref name="interval"/> until the watch is stopped or disposed.</summary>
    public RoleWatch WatchRoles(TimeSpan interval) => new(A, B, interval);

    /// <summary>The node's history, newest first.</summary>
    public static async Task<HistoryEntry[]> HistoryAsync(AgentProcess node, int limit = 100)
    {
        using var http = node.CreateLocalClient();
        return (await http.GetFromJsonAsync($"api/v1/history?limit={limit}", ApiJsonContext.Default.HistoryEntryArray))!;
    }

    /// <summary>The history one entry a line, newest first: for substring assertions and failure messages.</summary>
    public static async Task<string> HistoryTextAsync(AgentProcess node) =>
        string.Join('\n', (await HistoryAsync(node)).Select(e => $"{e.Time:HH:mm:ss.fff} {e.Kind}: {e.Message} ({e.Cause})"));

    /// <summary>A role entry "{From} -> Active (epoch N)".</summary>
    public static bool IsPromotion(HistoryEntry entry) => entry.Kind == "role" && entry.Message.Contains("-> Active (", StringComparison.Ordinal);

    /// <summary>The cause of the node's latest promotion, or null when it never promoted.</summary>
    public static async Task<string?> LastPromotionCauseAsync(AgentProcess node) => (await HistoryAsync(node)).FirstOrDefault(IsPromotion)?.Cause;

    public static async Task<HaStatus> HaStatusAsync(AgentProcess node)
    {
        using var http = node.CreateLocalClient();
        return (await http.GetFromJsonAsync("api/v1/ha/status", ApiJsonContext.Default.HaStatus))!;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; returns how long that took.</summary>
    public async Task<TimeSpan> WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (await condition())
            {
                return clock.Elapsed;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"not within {timeout}: {what}\n--- A ---\n{A.OutputText}\n--- B ---\n{B.OutputText}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in new[] { A, B })
        {
            if (!node.HasExited)
            {
                try
                {
                    node.Signal(Signals.SIGCONT);
                }
                catch (InvalidOperationException)
                {
                    // already gone
                }
            }

            await node.DisposeAsync();
        }

        _temp.Dispose();
    }

    private static Dictionary<string, string> Merge(IDictionary<string, string>? extra, Dictionary<string, string> settings)
    {
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        return settings;
    }
}
