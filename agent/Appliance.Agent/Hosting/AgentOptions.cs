using System.Globalization;
using System.Net;

namespace Appliance.Agent.Hosting;

/// <summary>
/// The <c>Appliance</c> configuration section. Every key is documented in docs/operations.md; every value is
/// validated by <see cref="Validate"/> before anything is written.
/// </summary>
public sealed class AgentOptions
{
    public const string Section = "Appliance";

    /// <summary>Where the store, the secrets key and the epoch record live.</summary>
    public string DataDir { get; set; } = OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "Appliance")
        : "/var/lib/appliance";

    /// <summary>A human name for this node (shown in status and history); defaults to the host name.</summary>
    public string NodeName { get; set; } = Environment.MachineName;

    public ApiOptions Api { get; set; } = new();

    public StoreOptions Store { get; set; } = new();

    public HaHostOptions Ha { get; set; } = new();

    /// <summary>This appliance's own BMC (iDRAC / IPMI).</summary>
    public Appliance.Hw.Bmc.BmcOptions Bmc { get; set; } = new();

    /// <summary>The front panel (LCD and buttons); see hw/Appliance.Hw/FrontPanel/README.md.</summary>
    public Appliance.Hw.FrontPanel.PanelOptions Panel { get; set; } = new();

    /// <summary>How long a graceful stop may take before the host gives up waiting (SIGTERM / service stop).</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Returns one line per invalid key: the key, the value and what is allowed. Empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            errors.Add("Appliance:DataDir is empty: a writable directory path is required");
        }

        if (string.IsNullOrWhiteSpace(NodeName) || NodeName.Length > 64)
        {
            errors.Add($"Appliance:NodeName='{NodeName}' is invalid: 1 to 64 characters allowed");
        }

        CheckRange(errors, "Appliance:ShutdownTimeout", ShutdownTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Api.Validate(errors);
        Store.Validate(errors);
        Ha.Validate(errors);
        errors.AddRange(Bmc.Validate("Appliance:Bmc"));
        errors.AddRange(Panel.Validate());
        return errors;
    }

    internal static void CheckRange(List<string> errors, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"{key}={value} is out of range: allowed {min} to {max}"));
        }
    }

    internal static void CheckRange(List<string> errors, string key, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"{key}={value} is out of range: allowed {min} to {max}"));
        }
    }
}

/// <summary>The local API's listeners.</summary>
public sealed class ApiOptions
{
    /// <summary>Unix socket for appliancectl (Linux); file permissions are its access control.</summary>
    public string SocketPath { get; set; } = "/run/appliance/agent.sock";

    /// <summary>Octal file mode of the socket: owner and group may connect, nobody else.</summary>
    public string SocketMode { get; set; } = "0660";

    /// <summary>Named pipe for appliancectl on Windows.</summary>
    public string PipeName { get; set; } = "appliance-agent";

    /// <summary>TCP listener for load balancers; empty disables it.</summary>
    public string TcpAddress { get; set; } = "127.0.0.1";

    public int TcpPort { get; set; } = 8080;

    internal void Validate(List<string> errors)
    {
        if (!OperatingSystem.IsWindows() && string.IsNullOrWhiteSpace(SocketPath))
        {
            errors.Add("Appliance:Api:SocketPath is empty: an absolute or relative file path is required");
        }
        else if (SocketPath.Length > 100)
        {
            // sun_path is 108 bytes on Linux; keep a margin for the NUL and relative-path resolution.
            errors.Add($"Appliance:Api:SocketPath='{SocketPath}' is too long: at most 100 characters allowed");
        }

        if (ParseSocketMode() is null)
        {
            errors.Add($"Appliance:Api:SocketMode='{SocketMode}' is invalid: an octal mode from 0600 to 0666 is allowed");
        }

        if (!string.IsNullOrEmpty(TcpAddress) && !IPAddress.TryParse(TcpAddress, out _))
        {
            errors.Add($"Appliance:Api:TcpAddress='{TcpAddress}' is not an IP address: an IPv4/IPv6 literal, or empty to disable, is allowed");
        }

        AgentOptions.CheckRange(errors, "Appliance:Api:TcpPort", TcpPort, 0, 65535);
    }

    internal UnixFileMode? ParseSocketMode()
    {
        try
        {
            var mode = Convert.ToInt32(SocketMode, 8);
            return mode is >= 0x180 and <= 0x1B6 && (mode & 0x180) == 0x180 ? (UnixFileMode)mode : null; // 0600..0666, owner rw
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return null;
        }
    }
}

/// <summary>The LiteDB store.</summary>
public sealed class StoreOptions
{
    /// <summary>History entries kept; the oldest are dropped first.</summary>
    public int HistoryCap { get; set; } = 10_000;

    /// <summary>Optional file holding the LiteDB file password (whole-file AES on top of field encryption).</summary>
    public string? PasswordFile { get; set; }

    internal void Validate(List<string> errors)
    {
        AgentOptions.CheckRange(errors, "Appliance:Store:HistoryCap", HistoryCap, 100, 1_000_000);
        if (PasswordFile is { Length: > 0 } && !File.Exists(PasswordFile))
        {
            errors.Add($"Appliance:Store:PasswordFile='{PasswordFile}' does not exist: an existing readable file is required");
        }
    }
}

/// <summary>The HA subsystem's host-side settings. The failover settings themselves (timeouts, mode …) live in the store.</summary>
public sealed class HaHostOptions
{
    /// <summary>The MQTT peer link: embedded broker and/or external brokers. Pair, node and peer ids come from pairing, not from here.</summary>
    public Appliance.Agent.Mqtt.MqttLinkOptions PeerLink { get; set; } = new();

    /// <summary>The peer's BMC, to power it off before this node takes over after a silent loss.</summary>
    public Appliance.Hw.Bmc.FencingOptions Fencing { get; set; } = new();

    /// <summary>The address clients use, held by the Active only (Linux).</summary>
    public Appliance.Hw.Network.SharedAddressOptions SharedAddress { get; set; } = new();

    /// <summary>The services that run only on the Active.</summary>
    public Appliance.Agent.Ha.ManagedServicesOptions Services { get; set; } = new();

    /// <summary>Commands run on each transition (DNS/NAT swing, site scripts).</summary>
    public Appliance.Agent.Ha.HooksOptions Hooks { get; set; } = new();

    /// <summary>How <c>ha shutdown</c> powers the appliance off or reboots it after announcing it.</summary>
    public Appliance.Agent.Ha.PowerOptions Power { get; set; } = new();

    /// <summary>How connectivity test targets are probed.</summary>
    public Appliance.Agent.Ha.ConnectivityProbeOptions Probe { get; set; } = new();

    /// <summary>True when the peer's BMC is configured for fencing (Appliance:Ha:Fencing).</summary>
    public bool FencingConfigured => Fencing.Enabled;

    internal void Validate(List<string> errors)
    {
        // Ids are filled in at pairing time; validate everything else with placeholders.
        var (pair, node, peer, peerHost) = (PeerLink.PairId, PeerLink.NodeId, PeerLink.PeerNodeId, PeerLink.PeerBroker.Host);
        PeerLink.PairId = "validate";
        PeerLink.NodeId = "validate-self";
        PeerLink.PeerNodeId = "validate-peer";
        PeerLink.PeerBroker.Host = string.IsNullOrEmpty(peerHost) ? "peer.invalid" : peerHost;
        errors.AddRange(PeerLink.Validate("Appliance:Ha:PeerLink"));
        errors.AddRange(Fencing.Validate());
        errors.AddRange(SharedAddress.Validate(OperatingSystem.IsLinux()));
        errors.AddRange(Services.Validate());
        errors.AddRange(Hooks.Validate());
        errors.AddRange(Power.Validate());
        errors.AddRange(Probe.Validate());
        (PeerLink.PairId, PeerLink.NodeId, PeerLink.PeerNodeId, PeerLink.PeerBroker.Host) = (pair, node, peer, peerHost);
    }
}
