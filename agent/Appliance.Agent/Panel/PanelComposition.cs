using Appliance.Agent.Ha;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Appliance.Agent.Bmc;
using Appliance.Agent.Hosting;
using Appliance.Agent.Runtime;
using Appliance.Agent.Store;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Core.Panel;
using Appliance.Core.Ports;
using Appliance.Hw.FrontPanel;

namespace Appliance.Agent.Panel;

/// <summary>Wires the front panel into the host: status from the node, password resets into the store, settings persisted.</summary>
public static class PanelComposition
{
    /// <summary>Registers the <see cref="FrontPanelRuntime"/> singleton, its settings store and the service that runs it.</summary>
    public static IServiceCollection AddFrontPanel(this IServiceCollection services, AgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton<PanelSettingsStore>();
        services.AddSingleton(sp =>
        {
            var store = sp.GetRequiredService<AgentStore>();
            var time = sp.GetRequiredService<TimeProvider>();
            var status = new NodePanelStatusSource(sp.GetRequiredService<NodeRuntime>(), store, time);
            var credentials = new StoreAdminCredentialSink(store, sp.GetRequiredService<HaService>());
            var settings = sp.GetRequiredService<PanelSettingsStore>().Load();
            return FrontPanelRuntime.Create(options.Panel, new FrontPanelDependencies(status, credentials, settings, time, sp.GetRequiredService<ILoggerFactory>())
            {
                BmcFrontLcd = sp.GetService<IBmcFrontLcd>(),
            });
        });
        services.AddHostedService<FrontPanelService>();
        return services;
    }
}

/// <summary>Runs the panel for the agent's lifetime; the panel itself never fails the host.</summary>
internal sealed class FrontPanelService(FrontPanelRuntime runtime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The first refresh enumerates network interfaces: keep it off the host's start path.
        await Task.Yield();
        await runtime.RunAsync(stoppingToken).ConfigureAwait(false);
    }
}

/// <summary>The operator's panel settings, durable in the store as setting <c>panel.settings</c>.</summary>
public sealed partial class PanelSettingsStore(AgentStore store, ILogger<PanelSettingsStore> logger)
{
    public const string SettingName = "panel.settings";

    public PanelSettings Load()
    {
        if (store.ReadSetting(SettingName) is not { } json)
        {
            return PanelSettings.Default;
        }

        try
        {
            return JsonSerializer.Deserialize(json, ApiJsonContext.Default.PanelSettings) ?? PanelSettings.Default;
        }
        catch (JsonException e)
        {
            // Defaults are the safe side: buttons on, password reset off.
            LogUnreadable(SettingName, e.Message);
            return PanelSettings.Default;
        }
    }

    public void Save(PanelSettings settings) =>
        store.WriteSetting(SettingName, JsonSerializer.Serialize(settings, ApiJsonContext.Default.PanelSettings));

    [LoggerMessage(Level = LogLevel.Warning, Message = "stored {Setting} is unreadable ({Reason}); using the defaults (buttons on, password reset off)")]
    private partial void LogUnreadable(string setting, string reason);
}

/// <summary>The panel's view of this node: HA role and peer, health, last alert, addresses, version.</summary>
internal sealed class NodePanelStatusSource(NodeRuntime node, AgentStore store, TimeProvider time) : IPanelStatusSource
{
    /// <summary>Addresses change rarely; re-reading them every second refresh would be wasted work.</summary>
    private static readonly TimeSpan InterfaceCacheTime = TimeSpan.FromSeconds(5);

    /// <summary>HA history kinds that are alerts (things an operator at the box should know about).</summary>
    private static readonly HashSet<string> AlertKinds = new(StringComparer.Ordinal)
    {
        nameof(HaEventKind.PeerLost), nameof(HaEventKind.TakeoverBlocked), nameof(HaEventKind.Conflict), nameof(HaEventKind.Fencing),
    };

    /// <summary>An HA alert, or a hardware warning/critical from the BMC health poller (its recoveries are not alerts).</summary>
    internal static bool IsAlert(HistoryEntry entry) => AlertKinds.Contains(entry.Kind) || HistoryHealthSink.IsAlert(entry);

    private const int AlertScanDepth = 20;

    private IReadOnlyList<PanelInterface> _interfaces = [];
    private long _interfacesReadAt;
    private bool _interfacesRead;

    public Task<PanelStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        var snapshot = node.Snapshot();
        var alert = snapshot.Healthy
            ? store.ReadHistory(AlertScanDepth).FirstOrDefault(IsAlert) is { } entry
                ? entry.Time.ToString("MM-dd HH:mm ", CultureInfo.InvariantCulture) + entry.Message
                : null
            : snapshot.HealthMessage;
        return Task.FromResult(new PanelStatus
        {
            Interfaces = Interfaces(),
            Role = snapshot.Role,
            Epoch = snapshot.Epoch,
            PeerReachable = snapshot.Peer.Reachable,
            HealthSummary = "Health " + snapshot.HealthMessage,
            LastAlert = alert,
            MirrorState = "not configured",
            Version = snapshot.Version,
        });
    }

    private IReadOnlyList<PanelInterface> Interfaces()
    {
        if (!_interfacesRead || time.GetElapsedTime(_interfacesReadAt) >= InterfaceCacheTime)
        {
            _interfaces = ReadInterfaces();
            _interfacesReadAt = time.GetTimestamp();
            _interfacesRead = true;
        }

        return _interfaces;
    }

    /// <summary>Up, non-loopback interfaces; IPv4 before IPv6, link-local IPv6 left out (useless to type into a browser).</summary>
    internal static IReadOnlyList<PanelInterface> ReadInterfaces()
    {
        var result = new List<PanelInterface>();
        NetworkInterface[] nics;
        try
        {
            nics = NetworkInterface.GetAllNetworkInterfaces();
        }
        catch (NetworkInformationException)
        {
            return result;
        }

        foreach (var nic in nics.Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback))
        {
            var addresses = nic.GetIPProperties().UnicastAddresses
                .Select(a => a.Address)
                .Where(a => !IPAddress.IsLoopback(a) && !(a.AddressFamily == AddressFamily.InterNetworkV6 && a.IsIPv6LinkLocal))
                .OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1);
            // No shared-IP adapter exists yet, so no address is marked as the pair's shared IP.
            result.AddRange(addresses.Select(a => new PanelInterface(nic.Name, a.ToString(), CarriesSharedIp: false)));
        }

        return result;
    }
}

/// <summary>
/// A password accepted on the panel becomes the administrator password: stored only as a PBKDF2-SHA256 hash with a
/// random salt (and that record itself encrypted by the store). Neither the password nor the hash is logged.
/// </summary>
internal sealed class StoreAdminCredentialSink(AgentStore store, HaService ha) : IAdminCredentialSink
{
    public const string SecretName = "admin-password";

    /// <summary>OWASP's 2023 figure for PBKDF2-HMAC-SHA256; about half a second on a small appliance CPU, once per reset.</summary>
    public const int Iterations = 600_000;

    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public Task SetAdminPasswordAsync(string password, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        // The panel controller calls this under its own lock's continuation: hash on the pool, not inline.
        return Task.Run(() => store.WriteSecret(SecretName, Hash(password)), cancellationToken);
    }

    public Task RecordPanelPasswordResetAsync(CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            store.AppendHistory("security", "admin password reset from panel", "front panel");
            ha.PublishEvent("security", "admin password reset from panel"); // the event, never the password
        }, cancellationToken);

    /// <summary><c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c> (base64), self-describing so the cost can be raised later.</summary>
    internal static string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"pbkdf2-sha256${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>True when <paramref name="password"/> matches a value made by <see cref="Hash"/> (constant-time compare).</summary>
    internal static bool Verify(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != "pbkdf2-sha256" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations))
        {
            return false;
        }

        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
