using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.Agent.Hosting;
using Appliance.Agent.Mqtt;
using Appliance.Agent.Runtime;
using Appliance.Agent.Store;
using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;
using Appliance.Core.Ports;

namespace Appliance.Agent.Ha;

/// <summary>The adapters the failover engine acts through, other than the link and the store.</summary>
public sealed record HaHostPorts(IPeerFencer Fencer, ISharedAddress SharedAddress, ManagedServices Services, IConnectivityProbe Probe) : IDisposable
{
    /// <summary>The services are built with the ports (<see cref="HaComposition"/>); the fencer is shared and owned elsewhere.</summary>
    public void Dispose() => Services.Dispose();
}

/// <summary>
/// Owns the HA subsystem of this node: the embedded broker (always up, so a peer can pair with us),
/// and — once paired — the MQTT peer link and the failover engine. Pairing, breaking and settings
/// changes rebuild link and engine; the engine reloads its persisted role and epoch each time.
/// </summary>
public sealed partial class HaService : IHostedService, IAsyncDisposable
{
    private const string SettingsKey = "ha.settings";
    private const string PairingKey = "ha.pairing";

    /// <summary>History kind and peer event kind of the stray-service check.</summary>
    public const string ServicesEventKind = "services";

    public const string StrayCause = "stray service stopped on Passive";
    private static readonly TimeSpan DiscoveryListen = TimeSpan.FromSeconds(1);

    private readonly AgentStore _store;
    private readonly HaStateStore _haStore;
    private readonly MqttLinkOptions _linkOptions;
    private readonly TimeSpan _strayCheckInterval;
    private readonly HaHostPorts _ports;
    private readonly IHaEvents _events;
    private readonly LoopProgress _progress;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<HaService> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private EmbeddedMqttBroker? _broker;
    private MqttPeerLink? _link;
    private FailoverEngine? _engine;
    private StrayServiceGuard? _strayGuard;
    private readonly OrderedSharedAddress _address;
    private readonly CancellationTokenSource _stopping = new();
    private Task _addressRetry = Task.CompletedTask;
    private int _disposed;
    private const string StopServicesStep = "stop the managed services";
    private const string ReleaseAddressStep = "release the shared address";

    /// <summary>Failed start steps by name; the services step is cleared by the stray check once it retried it successfully.</summary>
    private readonly ConcurrentDictionary<string, string> _startProblems = new(StringComparer.Ordinal);
    private string? _lastStrayProblem;

    public HaService(AgentStore store, AgentOptions options, HaHostPorts ports, IHaEvents events, LoopProgress progress, TimeProvider time, ILoggerFactory loggers)
    {
        _progress = progress;
        _store = store;
        _haStore = new HaStateStore(store);
        _linkOptions = options.Ha.PeerLink;
        _strayCheckInterval = options.Ha.Services.StrayCheckInterval;
        _ports = ports;
        _address = new OrderedSharedAddress(ports.SharedAddress);
        _events = events;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<HaService>();
    }

    /// <summary>The engine's live view, or null while this node is not paired.</summary>
    public HaSnapshot? Snapshot => _engine?.Snapshot;

    public IReadOnlyDictionary<Core.Heartbeat.RejectReason, long>? Rejections => _engine?.Rejections;

    public IReadOnlyList<MqttPathStatus> Paths => _link?.GetPathStatus() ?? [];

    /// <summary>The persisted role and epoch (what the engine will start from).</summary>
    public HaPersistedState Persisted => _haStore.Load();

    /// <summary>Why a managed service failed to start or stop, or null when they are as the role wants.</summary>
    public string? ServicesProblem => _ports.Services.Problem ?? _startProblems.Values.FirstOrDefault();

    /// <summary>The engine loop died: fatal, the main loop stops feeding the watchdog.</summary>
    public bool EngineFaulted => _engine?.Completion.IsFaulted == true;

    /// <summary>See <see cref="FailoverEngine.LoopOverdue"/>; zero while unpaired.</summary>
    public TimeSpan EngineLoopOverdue => _engine?.LoopOverdue ?? TimeSpan.Zero;

    /// <summary>The stored settings, read as user input is: a store written before FailoverMode was renamed keeps its Mode.</summary>
    public HaSettings Settings =>
        _store.ReadSetting(SettingsKey) is not { } json ? new HaSettings { FencingEnabled = false }
        : HaSettingsJson.TryRead(JsonNode.Parse(json), HaStoreJson.Default.HaSettings, out var settings, out var error) ? settings!
        : throw new InvalidDataException($"stored HA settings are unreadable: {error}");

    public PairingRecord? Pairing =>
        _store.ReadSetting(PairingKey) is { } json ? JsonSerializer.Deserialize(json, HaStoreJson.Default.PairingRecord) : null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_linkOptions.EmbeddedBroker.Enabled)
        {
            _broker = new EmbeddedMqttBroker(_linkOptions.EmbeddedBroker, _loggers.CreateLogger<EmbeddedMqttBroker>());
            await _broker.StartAsync(cancellationToken);
        }

        // Whatever this node held before it stopped (or was killed) is released before it rejoins:
        // the engine decides afresh, and never comes up Active while its peer is.
        await StartStepAsync(ReleaseAddressStep, () => _address.ReleaseAsync(cancellationToken));
        if (_startProblems.ContainsKey(ReleaseAddressStep))
        {
            _addressRetry = Task.Run(() => RetryAddressReleaseAsync(_stopping.Token), CancellationToken.None);
        }

        await StartStepAsync(StopServicesStep, () => _ports.Services.EnsureStoppedAtStartAsync(cancellationToken));
        _ports.Services.StartedAndBound += OnServicesStartedAndBound;
        if (!_ports.Services.IsEmpty)
        {
            _strayGuard = new StrayServiceGuard(_ports.Services, NodeIsActive, _strayCheckInterval, ReportStray, _time, _loggers.CreateLogger<StrayServiceGuard>());
            _strayGuard.Start();
        }

        await AnnounceAsync(cancellationToken);
        if (Pairing is { } pairing)
        {
            await StartEngineAsync(pairing, cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await StopBackgroundChecksAsync();

        // Before the link says offline: the peer may take the address the moment it hears that.
        if (_address.IsHeld)
        {
            await _address.ReleaseAsync(cancellationToken);
        }

        await StopEngineAsync(planned: true, cancellationToken);
        if (_broker is not null)
        {
            await _broker.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The container disposes it twice (as the hosted service and as itself).
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopBackgroundChecksAsync();
        await StopEngineAsync(planned: false, CancellationToken.None);
        _ports.Services.StartedAndBound -= OnServicesStartedAndBound;
        if (_ports.SharedAddress is IAsyncDisposable sharedAddress)
        {
            await sharedAddress.DisposeAsync();
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        _gate.Dispose();
        _stopping.Dispose();
        _address.Dispose();
    }

    /// <summary>Announces an event to the pair on …/events (signed); nothing while unpaired. Never pass a secret.</summary>
    public void PublishEvent(string kind, string message) => _engine?.PublishEvent(kind, message);

    /// <summary>Runs an operator command on the engine; refused while unpaired.</summary>
    public Task<CommandResult> ExecuteAsync(OperatorCommand command, CancellationToken cancellationToken) =>
        _engine is { } engine
            ? engine.ExecuteAsync(command, cancellationToken)
            : Task.FromResult(CommandResult.Refused("not paired: run 'appliancectl ha establish --peer HOST[:PORT] --key-file F' on both appliances first"));

    /// <summary>
    /// Pairs with the agent whose broker is at <paramref name="peerHost"/>:<paramref name="peerPort"/>
    /// (embedded mode) or on the shared external brokers, holding the same key.
    /// </summary>
    public async Task<CommandResult> EstablishAsync(string peerHost, int peerPort, byte[] keyBytes, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_engine?.Snapshot.Paired == true)
            {
                return CommandResult.Refused($"already paired with {_engine.Snapshot.PeerNodeId}: run 'appliancectl ha break' first");
            }

            ConfigureLink(peerHost, peerPort, pairId: "discovery", peerNodeId: "discovery-peer");
            string peerNodeId;
            try
            {
                using var endpoint = _linkOptions.EmbeddedBroker.Enabled ? MqttPathCredentialsFactory.Peer(_linkOptions) : MqttPathCredentialsFactory.External(_linkOptions).First();
                peerNodeId = await PeerDiscovery.FindPeerAsync(endpoint, _store.Identity.NodeId, _linkOptions, DiscoveryListen, cancellationToken);
            }
            catch (InvalidOperationException e)
            {
                return CommandResult.Refused("establish refused: " + e.Message);
            }

            var key = _haStore.RememberKey(keyBytes);
            var pairing = new PairingRecord(peerNodeId, peerHost, peerPort, key.Fingerprint);
            _store.WriteSetting(PairingKey, JsonSerializer.Serialize(pairing, HaStoreJson.Default.PairingRecord));

            // The engine signs the wills its link registers at CONNECT with the key it loads at start; without
            // the ring saved first they were empty until the next reconnect, so the first crash after pairing
            // was only seen by the PartnerFailoverTimeout deadline (3 s instead of ~50 ms).
            await _haStore.SaveKeysAsync(new PairKeyRing(key), cancellationToken);
            await StopEngineAsync(planned: true, cancellationToken);
            await StartEngineAsync(pairing, cancellationToken);
            return await _engine!.ExecuteAsync(new OperatorCommand.Establish(peerNodeId, key), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Leaves the pair: the engine goes Off (and tells the peer), then link and engine stop. History and keys stay.</summary>
    public async Task<CommandResult> BreakAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_engine is null)
            {
                return CommandResult.Refused("not paired: nothing to break");
            }

            var result = await _engine.ExecuteAsync(new OperatorCommand.Break(), cancellationToken);
            if (result.Ok)
            {
                await StopEngineAsync(planned: true, cancellationToken);
                _store.WriteSetting(PairingKey, "null");
                _haStore.Forget();
            }

            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Rotates the pair key without a failover: this node signs with the new key once the peer shows it
    /// holds it too, and accepts the old one for KeyOverlap. Run it on both nodes with the same new key.
    /// The pair id (topics) stays the one derived from the first key, so the link is untouched.
    /// </summary>
    public async Task<CommandResult> RotateKeyAsync(byte[] keyBytes, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_engine is null)
            {
                return CommandResult.Refused("not paired: there is no pair key to rotate");
            }

            var key = _haStore.RememberKey(keyBytes);
            try
            {
                await _engine.RotateKeyAsync(key, cancellationToken);
            }
            catch (InvalidOperationException e)
            {
                return CommandResult.Refused("rotate-key refused: " + e.Message);
            }

            return CommandResult.Done($"now using key {key.Fingerprint}; the previous key stays accepted for KeyOverlap ({Settings.KeyOverlap})");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Validates new settings, also against the timing the peer last announced (a timeout shorter than twice its
    /// heartbeat interval, or an interval longer than half its timeout, is refused), then stores them and applies
    /// them live in the running engine. A refusal changes nothing.
    /// </summary>
    public async Task<IReadOnlyList<string>> UpdateSettingsAsync(HaSettings settings, bool fencingConfigured, CancellationToken cancellationToken)
    {
        var errors = settings.Validate().ToList();
        if (settings.FencingEnabled && !fencingConfigured)
        {
            errors.Add("FencingEnabled=true needs Appliance:Ha:Fencing (the peer's BMC) configured first");
        }

        if (errors.Count > 0)
        {
            return errors;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            // Under the gate: the engine checked against is the one that gets the settings.
            if (settings.ValidateAgainstPeer(_engine?.Snapshot.PeerTiming) is { Count: > 0 } mismatched)
            {
                return mismatched;
            }

            // A name outside the pair would silently fall back to "paired first": refuse it while paired.
            if (settings.PreferredActive is { } preferred && _engine?.Snapshot is { Paired: true, PeerNodeId: { } peer }
                && preferred != peer && preferred != _store.Identity.NodeId)
            {
                return [$"{nameof(HaSettings.PreferredActive)}='{preferred}' is not in this pair: allowed null, '{_store.Identity.NodeId}' or '{peer}'"];
            }

            _store.WriteSetting(SettingsKey, JsonSerializer.Serialize(settings, HaStoreJson.Default.HaSettings));
            if (_engine is not null)
            {
                await _engine.ApplySettingsAsync(settings, cancellationToken);
            }

            return [];
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task StartEngineAsync(PairingRecord pairing, CancellationToken cancellationToken)
    {
        ConfigureLink(pairing.PeerHost, pairing.PeerPort, pairId: "p" + pairing.KeyFingerprint, peerNodeId: pairing.PeerNodeId);
        _link = new MqttPeerLink(_linkOptions, _broker, _loggers.CreateLogger<MqttPeerLink>(), _time);
        var ports = new HaPorts(_haStore, _link, _ports.Fencer, _address, _ports.Services, _ports.Probe, _events);
        // The peer sees in every heartbeat what a load balancer sees on /check_health.
        _engine = new FailoverEngine(_store.Identity.NodeId, Settings, ports, _time, () => NodeRuntime.HeartbeatHealth(_progress, this));
        var engine = _engine;
        _link.PathConnected += status => _ = engine.ReportPathAsync(status.Name, up: true, status.Generation, CancellationToken.None).AsTask();
        _link.PathLost += (name, generation) => _ = engine.ReportPathAsync(name, up: false, generation, CancellationToken.None).AsTask();
        await _engine.StartAsync(cancellationToken);
        LogEngineStarted(_logger, pairing.PeerNodeId, pairing.PeerHost, pairing.PeerPort);
    }

    /// <summary>
    /// Stops the engine first (nothing is published after the offline state), then the link. A planned stop
    /// (agent stop, break, re-establish) leaves the explicit offline state and DISCONNECTs cleanly, so no will
    /// fires; it gets <see cref="OfflineStateTimeout"/> at most, then the abrupt close lets the wills speak.
    /// </summary>
    private async Task StopEngineAsync(bool planned, CancellationToken cancellationToken)
    {
        if (_engine is not null)
        {
            await _engine.DisposeAsync();
            _engine = null;
        }

        if (_link is not null)
        {
            if (planned)
            {
                await DisconnectGracefullyAsync(_link, cancellationToken);
            }

            await _link.DisposeAsync();
            _link = null;
        }
    }

    /// <summary>A publish and a DISCONNECT, each bounded by the link's OperationTimeout: a dead broker cannot hold shutdown longer.</summary>
    private TimeSpan OfflineStateTimeout => 2 * _linkOptions.OperationTimeout;

    private async Task DisconnectGracefullyAsync(MqttPeerLink link, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(OfflineStateTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await link.DisconnectGracefullyAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            LogOfflineStateTimedOut(_logger, (long)OfflineStateTimeout.TotalMilliseconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Planned disconnect did not finish within {TimeoutMs} ms; closing the link, the brokers send the wills")]
    private static partial void LogOfflineStateTimedOut(ILogger logger, long timeoutMs);

    /// <summary>
    /// A start-up release that failed may have left the address on this node, next to an Active peer: retried every
    /// StrayCheckInterval until it succeeds or the engine orders a take (then the engine's order stands), which
    /// clears the problem from /check_health.
    /// </summary>
    private async Task RetryAddressReleaseAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_strayCheckInterval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                string outcome = await _address.RetryReleaseAsync(cancellationToken)
                    ? "the shared address is now released"
                    : "the shared address was since taken by the failover engine";
                _startProblems.TryRemove(ReleaseAddressStep, out _);
                _store.AppendHistory(ServicesEventKind, outcome, "start step retried");
                return;
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                LogAddressRetryFailed(_logger, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Releasing the shared address failed again: {Reason}; retrying at the next interval")]
    private static partial void LogAddressRetryFailed(ILogger logger, string reason);

    private async Task StopBackgroundChecksAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await _addressRetry;
        }
        catch (OperationCanceledException)
        {
            // The retry ends by cancellation.
        }

        if (_strayGuard is not null)
        {
            await _strayGuard.DisposeAsync();
            _strayGuard = null;
        }
    }

    /// <summary>
    /// The persisted role leads: a promotion persists Active before it starts the services, while the
    /// engine's snapshot shows Active only after. Either one saying Active stops the stray check.
    /// </summary>
    private bool NodeIsActive() => _haStore.Load().Role == HaRole.Active || _engine?.Snapshot.Role == HaRole.Active;

    /// <summary>
    /// A start step that fails is recorded and fails /check_health, and the agent runs on: a crash loop
    /// under systemd would hide the reason from the technician and help nothing. The node still joins
    /// only as Passive, and the stray-service guard keeps stopping what should not run.
    /// </summary>
    private async Task StartStepAsync(string what, Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (Exception e) when (e is ManagedServicesException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            string problem = $"could not {what} at start: {e.Message}";
            _startProblems[what] = problem;
            _store.AppendHistory(ServicesEventKind, problem, "start");
            LogStartStepFailed(_logger, what, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not {What} at start: {Reason}; the agent runs on, unhealthy")]
    private static partial void LogStartStepFailed(ILogger logger, string what, string reason);

    /// <summary>A promotion started every service with the binding in place: the start-up stop's failure is moot.</summary>
    private void OnServicesStartedAndBound()
    {
        if (_startProblems.TryRemove(StopServicesStep, out _))
        {
            _store.AppendHistory(ServicesEventKind, "the managed services are now started and bound to the agent", "start step superseded by the promotion");
        }
    }

    /// <summary>Every stray stop is history and an event; a unit that will not stop is reported once per distinct problem.</summary>
    private void ReportStray(StoppedCheck check)
    {
        HaRole role = _haStore.Load().Role;
        foreach (string unit in check.StrayStopped)
        {
            LogStrayStopped(_logger, unit, role);
            Announce($"{unit} was running on this {role} node and was stopped");
        }

        // A check only runs after the start-up preparation succeeded (ManagedServices retries it first).
        if (check.AllStopped && _startProblems.TryRemove(StopServicesStep, out _))
        {
            _store.AppendHistory(ServicesEventKind, "the managed services are now stopped and bound to the agent", "start step retried by the stray-service check");
        }

        string? problem = check.AllStopped ? null : _ports.Services.Problem;
        if (problem is not null && problem != _lastStrayProblem)
        {
            Announce($"on this {role} node, {problem}");
        }

        _lastStrayProblem = problem;

        void Announce(string message)
        {
            _store.AppendHistory(ServicesEventKind, message, StrayCause);
            PublishEvent(ServicesEventKind, message);
        }
    }

    /// <summary>The pair id is derived from the key, so both nodes (same key) meet on the same topics.</summary>
    private void ConfigureLink(string peerHost, int peerPort, string pairId, string peerNodeId)
    {
        _linkOptions.NodeId = _store.Identity.NodeId;
        _linkOptions.PairId = pairId;
        _linkOptions.PeerNodeId = peerNodeId;
        if (_linkOptions.EmbeddedBroker.Enabled)
        {
            _linkOptions.PeerBroker.Host = peerHost;
            _linkOptions.PeerBroker.Port = peerPort;
        }
    }

    private async Task AnnounceAsync(CancellationToken cancellationToken)
    {
        var targets = _linkOptions.EmbeddedBroker.Enabled
            ? [MqttPathCredentialsFactory.Own(_linkOptions)]
            : MqttPathCredentialsFactory.External(_linkOptions).ToList();
        foreach (var target in targets)
        {
            using (target)
            {
                try
                {
                    await PeerDiscovery.PublishHelloAsync(target, _store.Identity.NodeId, _linkOptions, cancellationToken);
                }
                catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or TimeoutException or OperationCanceledException)
                {
                    LogHelloFailed(_logger, target.ToString(), e.Message);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Managed service {Unit} was running on this {Role} node; stopped it")]
    private static partial void LogStrayStopped(ILogger logger, string unit, HaRole role);

    [LoggerMessage(Level = LogLevel.Information, Message = "Failover engine started: peer {PeerNodeId} at {PeerHost}:{PeerPort}")]
    private static partial void LogEngineStarted(ILogger logger, string peerNodeId, string peerHost, int peerPort);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not announce this node on {Broker}: {Reason} (a peer cannot pair through it until it can)")]
    private static partial void LogHelloFailed(ILogger logger, string broker, string reason);
}
