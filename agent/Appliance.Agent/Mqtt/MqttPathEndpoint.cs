using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Appliance.Agent.Mqtt;

/// <summary>One broker connection ("path") of the link, resolved from <see cref="MqttLinkOptions"/>.</summary>
internal sealed record MqttPathEndpoint(
    string Name,
    string Host,
    int Port,
    MqttClientTlsFileOptions Tls,
    string? Username,
    string? PasswordFile)
{
    public const string LocalPathName = "local";
    public const string PeerPathName = "peer";

    /// <summary>
    /// The brokers the link connects to as a client: embedded mode gives "peer" (the peer's broker; the own one,
    /// "local", is used in-process by <see cref="EmbeddedBrokerPath"/>); each external broker adds one.
    /// </summary>
    public static IReadOnlyList<MqttPathEndpoint> FromOptions(MqttLinkOptions options)
    {
        var paths = new List<MqttPathEndpoint>();
        if (options.EmbeddedBroker.Enabled)
        {
            var peer = options.PeerBroker;
            paths.Add(new MqttPathEndpoint(PeerPathName, peer.Host, peer.Port, peer.Tls, peer.Username, peer.PasswordFile));
        }

        for (var i = 0; i < options.ExternalBrokers.Count; i++)
        {
            var broker = options.ExternalBrokers[i];
            paths.Add(new MqttPathEndpoint(broker.EffectiveName(i), broker.Host, broker.Port, broker.Tls, broker.Username, broker.PasswordFile));
        }

        return paths;
    }

    /// <summary>
    /// The own broker is reached over loopback when it listens on every interface or when TLS is on
    /// (the plain listener is then loopback-only); otherwise on its one bind address.
    /// </summary>
    internal static string LocalHost(EmbeddedBrokerOptions embedded)
    {
        var bind = IPAddress.Parse(embedded.BindAddress);
        var loopback = bind.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        return embedded.Tls.Enabled || bind.Equals(IPAddress.Any) || bind.Equals(IPAddress.IPv6Any)
            ? loopback.ToString()
            : bind.ToString();
    }

    public override string ToString() => $"{Name} ({Host}:{Port}{(Tls.Enabled ? ", TLS" : "")})";
}

/// <summary>TLS material of one path, loaded once when the link is built so bad files fail early.</summary>
internal sealed class MqttPathCredentials : IDisposable
{
    private readonly MqttPathEndpoint _endpoint;
    private readonly X509Certificate2Collection? _pinnedRoots;
    private readonly X509Certificate2? _clientCertificate;

    public MqttPathCredentials(MqttPathEndpoint endpoint)
    {
        _endpoint = endpoint;
        if (!endpoint.Tls.Enabled)
        {
            return;
        }

        if (!string.IsNullOrEmpty(endpoint.Tls.CaFile))
        {
            _pinnedRoots = MqttTls.LoadCaBundle(endpoint.Tls.CaFile);
        }

        if (!string.IsNullOrEmpty(endpoint.Tls.ClientCertificateFile) && !string.IsNullOrEmpty(endpoint.Tls.ClientKeyFile))
        {
            _clientCertificate = MqttTls.LoadCertificateWithKey(endpoint.Tls.ClientCertificateFile, endpoint.Tls.ClientKeyFile);
        }
    }

    /// <summary>
    /// Options for one CONNECT: clean start, no session expiry (Sparkplug: a reconnect is a new
    /// session), and the will = caller's signed offline state for this generation on our state topic.
    /// </summary>
    public MqttClientOptions BuildClientOptions(string clientId, string willTopic, byte[] willPayload, MqttLinkOptions options) =>
        CreateBuilder(clientId, options)
            .WithWillTopic(willTopic)
            .WithWillPayload(willPayload)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillRetain(true)
            .Build();

    /// <summary>Endpoint, credentials and TLS without a will: for short-lived clients (pairing discovery).</summary>
    public MqttClientOptionsBuilder CreateBuilder(string clientId, MqttLinkOptions options)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithClientId(clientId)
            .WithTcpServer(_endpoint.Host, _endpoint.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithSessionExpiryInterval(0)
            .WithKeepAlivePeriod(options.KeepAlive)
            .WithTimeout(options.ConnectTimeout)
            .WithoutPacketFragmentation();

        if (!string.IsNullOrEmpty(_endpoint.Username) && !string.IsNullOrEmpty(_endpoint.PasswordFile))
        {
            builder.WithCredentials(_endpoint.Username, ReadPassword(_endpoint.PasswordFile));
        }

        if (_endpoint.Tls.Enabled)
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls(true)
                    .WithTargetHost(_endpoint.Host)
                    .WithSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13);
                if (_pinnedRoots is { } roots)
                {
                    tls.WithCertificateValidationHandler(e => MqttTls.ChainsToPinnedRoots(e.Certificate, e.Chain, e.SslPolicyErrors, roots));
                }

                if (_clientCertificate is { } certificate)
                {
                    tls.WithClientCertificates([certificate]);
                }
            });
        }

        return builder;
    }

    /// <summary>Read at every CONNECT so a rotated password is picked up without a restart.</summary>
    private static byte[] ReadPassword(string passwordFile)
    {
        string text;
        try
        {
            text = File.ReadAllText(passwordFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The message names the file only; the exception text carries no file content.
            throw new InvalidOperationException($"password file '{passwordFile}' cannot be read: {ex.GetType().Name}", ex);
        }

        var firstLine = text.Split('\n', 2)[0].TrimEnd('\r');
        return System.Text.Encoding.UTF8.GetBytes(firstLine);
    }

    public void Dispose() => _clientCertificate?.Dispose();
}
