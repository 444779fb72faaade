using System.Net;
using System.Text.RegularExpressions;

namespace Appliance.Agent.Mqtt;

/// <summary>
/// Configuration of the MQTT peer link (section <see cref="SectionName"/>). By default each agent
/// hosts an embedded broker, uses it in-process ("local" path) and connects to the peer's ("peer" path);
/// <see cref="ExternalBrokers"/> adds one path per external broker (Mosquitto, EMQX …).
/// </summary>
public sealed partial class MqttLinkOptions
{
    public const string SectionName = "PeerLink";

    /// <summary>Identifies the appliance pair; a topic level, so <c>[A-Za-z0-9_-]{1,64}</c>.</summary>
    public string PairId { get; set; } = "";

    /// <summary>This node's id; a topic level, so <c>[A-Za-z0-9_-]{1,64}</c>.</summary>
    public string NodeId { get; set; } = "";

    /// <summary>The peer node's id; a topic level, so <c>[A-Za-z0-9_-]{1,64}</c>.</summary>
    public string PeerNodeId { get; set; } = "";

    public EmbeddedBrokerOptions EmbeddedBroker { get; set; } = new();

    /// <summary>The peer's embedded broker; used only when <see cref="EmbeddedBroker"/> is enabled.</summary>
    public MqttBrokerEndpointOptions PeerBroker { get; set; } = new();

    /// <summary>Additional (or, with the embedded broker disabled, the only) broker paths.</summary>
    public List<MqttBrokerEndpointOptions> ExternalBrokers { get; set; } = [];

    /// <summary>MQTT keep-alive; short so a broker notices a silent node (1.5 x this) and fires its will.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bound on one TCP+TLS+CONNECT+SUBSCRIBE attempt.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Period of each path's supervision loop: ping a connected path, retry a down one.</summary>
    public TimeSpan ReconnectInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Bound on one publish or ping on one path; a path that exceeds it is treated as down.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Capacity of the incoming frame queue; when full the oldest frame is dropped and counted.</summary>
    public int IncomingCapacity { get; set; } = 1024;

    internal static readonly TimeSpan MinKeepAlive = TimeSpan.FromSeconds(1);
    internal static readonly TimeSpan MaxKeepAlive = TimeSpan.FromSeconds(3600);
    internal static readonly TimeSpan MinShortTimeout = TimeSpan.FromMilliseconds(50);
    internal static readonly TimeSpan MaxShortTimeout = TimeSpan.FromSeconds(60);
    internal const int MinIncomingCapacity = 16;
    internal const int MaxIncomingCapacity = 1_000_000;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    internal static partial Regex TopicLevelPattern();

    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,64}$")]
    private static partial Regex PathNamePattern();

    /// <summary>
    /// Every problem, each naming the configuration key, the value and what is allowed; empty when valid.
    /// Checks that referenced files exist, so a typo fails at startup rather than at the first reconnect.
    /// </summary>
    public IReadOnlyList<string> Validate(string prefix = SectionName)
    {
        var errors = new List<string>();
        CheckTopicLevel(errors, $"{prefix}:PairId", PairId);
        CheckTopicLevel(errors, $"{prefix}:NodeId", NodeId);
        CheckTopicLevel(errors, $"{prefix}:PeerNodeId", PeerNodeId);
        if (NodeId.Length > 0 && string.Equals(NodeId, PeerNodeId, StringComparison.Ordinal))
        {
            errors.Add($"{prefix}:PeerNodeId is '{PeerNodeId}', the same as {prefix}:NodeId; the peer must have a different id.");
        }

        CheckRange(errors, $"{prefix}:KeepAlive", KeepAlive, MinKeepAlive, MaxKeepAlive);
        if (KeepAlive.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            errors.Add($"{prefix}:KeepAlive is '{KeepAlive}'; MQTT carries it in whole seconds.");
        }

        CheckRange(errors, $"{prefix}:ConnectTimeout", ConnectTimeout, MinShortTimeout, MaxShortTimeout);
        CheckRange(errors, $"{prefix}:ReconnectInterval", ReconnectInterval, MinShortTimeout, MaxShortTimeout);
        CheckRange(errors, $"{prefix}:OperationTimeout", OperationTimeout, MinShortTimeout, MaxShortTimeout);
        if (IncomingCapacity is < MinIncomingCapacity or > MaxIncomingCapacity)
        {
            errors.Add($"{prefix}:IncomingCapacity is {IncomingCapacity}; allowed {MinIncomingCapacity}–{MaxIncomingCapacity}.");
        }

        if (EmbeddedBroker.Enabled)
        {
            EmbeddedBroker.Validate(errors, $"{prefix}:EmbeddedBroker");
            PeerBroker.Validate(errors, $"{prefix}:PeerBroker");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        if (EmbeddedBroker.Enabled)
        {
            names.Add(MqttPathEndpoint.LocalPathName);
            names.Add(MqttPathEndpoint.PeerPathName);
        }

        for (var i = 0; i < ExternalBrokers.Count; i++)
        {
            var key = $"{prefix}:ExternalBrokers:{i}";
            var broker = ExternalBrokers[i];
            broker.Validate(errors, key);
            var name = broker.EffectiveName(i);
            if (!PathNamePattern().IsMatch(name))
            {
                errors.Add($"{key}:Name is '{name}'; allowed [A-Za-z0-9_.:-]{{1,64}}.");
            }
            else if (!names.Add(name))
            {
                errors.Add($"{key}:Name is '{name}', already used by another path; path names must be unique.");
            }
        }

        if (!EmbeddedBroker.Enabled && ExternalBrokers.Count == 0)
        {
            errors.Add($"{prefix}:EmbeddedBroker:Enabled is false and {prefix}:ExternalBrokers is empty; at least one path is required.");
        }

        return errors;
    }

    internal static void CheckTopicLevel(List<string> errors, string key, string value)
    {
        if (!TopicLevelPattern().IsMatch(value))
        {
            errors.Add($"{key} is '{value}'; allowed [A-Za-z0-9_-]{{1,64}} (it is an MQTT topic level: no '+', '#', '/').");
        }
    }

    internal static void CheckRange(List<string> errors, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} is '{value}'; allowed {min}–{max}.");
        }
    }

    internal static void CheckPort(List<string> errors, string key, int port)
    {
        if (port is < 1 or > 65535)
        {
            errors.Add($"{key} is {port}; allowed 1–65535.");
        }
    }

    internal static void CheckFile(List<string> errors, string key, string? path, bool required)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            if (required)
            {
                errors.Add($"{key} is empty; a file path is required.");
            }

            return;
        }

        if (!File.Exists(path))
        {
            errors.Add($"{key} is '{path}'; the file does not exist.");
        }
    }
}

/// <summary>The broker each agent hosts for the pair (MQTTnet.Server, in-process).</summary>
public sealed class EmbeddedBrokerOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>IP address to listen on; <c>0.0.0.0</c> or <c>::</c> listens on every interface.</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>Plain-TCP port. With TLS enabled it listens on loopback only, for this agent's own path.</summary>
    public int Port { get; set; } = 1883;

    public EmbeddedBrokerTlsOptions Tls { get; set; } = new();

    internal void Validate(List<string> errors, string key)
    {
        if (!IPAddress.TryParse(BindAddress, out _))
        {
            errors.Add($"{key}:BindAddress is '{BindAddress}'; allowed an IPv4 or IPv6 address (0.0.0.0 for all interfaces).");
        }

        MqttLinkOptions.CheckPort(errors, $"{key}:Port", Port);
        if (!Tls.Enabled)
        {
            return;
        }

        MqttLinkOptions.CheckPort(errors, $"{key}:Tls:Port", Tls.Port);
        if (Tls.Port == Port)
        {
            errors.Add($"{key}:Tls:Port is {Tls.Port}, the same as {key}:Port; the TLS listener needs its own port.");
        }

        MqttLinkOptions.CheckFile(errors, $"{key}:Tls:CertificateFile", Tls.CertificateFile, required: true);
        MqttLinkOptions.CheckFile(errors, $"{key}:Tls:KeyFile", Tls.KeyFile, required: true);
        MqttLinkOptions.CheckFile(errors, $"{key}:Tls:ClientCaFile", Tls.ClientCaFile, required: false);
    }
}

/// <summary>TLS listener of the embedded broker (PEM files).</summary>
public sealed class EmbeddedBrokerTlsOptions
{
    public bool Enabled { get; set; }

    public int Port { get; set; } = 8883;

    /// <summary>Server certificate (PEM).</summary>
    public string? CertificateFile { get; set; }

    /// <summary>Unencrypted PEM private key of the server certificate; protect it with file permissions.</summary>
    public string? KeyFile { get; set; }

    /// <summary>When set, clients must present a certificate issued by this CA (PEM): mutual TLS.</summary>
    public string? ClientCaFile { get; set; }
}

/// <summary>One broker this node connects to: the peer's embedded broker or an external one.</summary>
public sealed class MqttBrokerEndpointOptions
{
    /// <summary>Path name shown in status and frames; defaults to <c>broker{n}</c> for external brokers.</summary>
    public string? Name { get; set; }

    public string Host { get; set; } = "";

    public int Port { get; set; } = 1883;

    public MqttClientTlsFileOptions Tls { get; set; } = new();

    public string? Username { get; set; }

    /// <summary>File holding the password (first line). The password itself never appears in configuration or logs.</summary>
    public string? PasswordFile { get; set; }

    internal string EffectiveName(int index) =>
        string.IsNullOrWhiteSpace(Name) ? $"broker{index + 1}" : Name;

    internal void Validate(List<string> errors, string key)
    {
        if (string.IsNullOrWhiteSpace(Host) || Host.Any(char.IsWhiteSpace))
        {
            errors.Add($"{key}:Host is '{Host}'; a host name or IP address is required.");
        }

        MqttLinkOptions.CheckPort(errors, $"{key}:Port", Port);
        if (string.IsNullOrEmpty(Username) != string.IsNullOrEmpty(PasswordFile))
        {
            errors.Add($"{key}:Username and {key}:PasswordFile must be set together (Username is {(string.IsNullOrEmpty(Username) ? "empty" : "set")}, PasswordFile is {(string.IsNullOrEmpty(PasswordFile) ? "empty" : "set")}).");
        }

        MqttLinkOptions.CheckFile(errors, $"{key}:PasswordFile", PasswordFile, required: false);
        if (!Tls.Enabled)
        {
            return;
        }

        MqttLinkOptions.CheckFile(errors, $"{key}:Tls:CaFile", Tls.CaFile, required: false);
        if (string.IsNullOrEmpty(Tls.ClientCertificateFile) != string.IsNullOrEmpty(Tls.ClientKeyFile))
        {
            errors.Add($"{key}:Tls:ClientCertificateFile and {key}:Tls:ClientKeyFile must be set together.");
        }

        MqttLinkOptions.CheckFile(errors, $"{key}:Tls:ClientCertificateFile", Tls.ClientCertificateFile, required: false);
        MqttLinkOptions.CheckFile(errors, $"{key}:Tls:ClientKeyFile", Tls.ClientKeyFile, required: false);
    }
}

/// <summary>Client-side TLS for one broker path (PEM files).</summary>
public sealed class MqttClientTlsFileOptions
{
    public bool Enabled { get; set; }

    /// <summary>CA that must have issued the broker's certificate; when empty the system trust store is used.</summary>
    public string? CaFile { get; set; }

    /// <summary>Client certificate for mutual TLS (PEM), with <see cref="ClientKeyFile"/>.</summary>
    public string? ClientCertificateFile { get; set; }

    public string? ClientKeyFile { get; set; }
}
