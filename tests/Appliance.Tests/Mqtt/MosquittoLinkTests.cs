using Appliance.Agent.Mqtt;
using Appliance.Core.Ports;
using Appliance.Tests.Fixtures;
using static Appliance.Tests.Mqtt.MqttLinkTestKit;

namespace Appliance.Tests.Mqtt;

/// <summary>External-broker mode against a real mosquitto: plain, mutual TLS, username/password, crash and restart.</summary>
public sealed class MosquittoLinkTests : MqttLinkTestBase
{
    protected override bool UsesMosquitto => true;

    [Fact]
    public async Task Plain_listener_carries_all_four_channels_both_ways()
    {
        var (a, b, inboxA, inboxB) = await StartPairAsync(node => Endpoint(Broker.PlainPort));

        foreach (var channel in Enum.GetValues<PeerChannel>())
        {
            await a.PublishAsync(channel, Bytes($"a-{channel}"), CancellationToken.None);
            await b.PublishAsync(channel, Bytes($"b-{channel}"), CancellationToken.None);
            await inboxB.WaitForAsync(channel, $"a-{channel}", "mq");
            await inboxA.WaitForAsync(channel, $"b-{channel}", "mq");
        }
    }

    [Fact]
    public async Task Mutual_tls_with_pinned_ca_and_client_certificates_carries_frames_under_the_acl()
    {
        // Disposing a link drops its socket without a TLS close_notify (an abrupt close is the point).
        Broker.ExpectLogError("OpenSSL Error.*unexpected eof while reading");
        var pki = TestPki.Shared;
        var (a, _, _, inboxB) = await StartPairAsync(node =>
        {
            var endpoint = Endpoint(Broker.MutualTlsPort);
            endpoint.Tls = new MqttClientTlsFileOptions
            {
                Enabled = true,
                CaFile = pki.CaFile,
                ClientCertificateFile = pki.ClientCertificateFile(node),
                ClientKeyFile = pki.ClientKeyFile(node),
            };
            return endpoint;
        });

        await a.PublishAsync(PeerChannel.Events, Bytes("event-over-mtls"), CancellationToken.None);
        await inboxB.WaitForAsync(PeerChannel.Events, "event-over-mtls", "mq");
        await Broker.WaitForLogAsync($@"New client connected .* as {Pair}\.node-a\.mq .*u'node-a'", Bound);
    }

    [Fact]
    public async Task Broker_certificate_from_another_ca_is_refused()
    {
        Broker.ExpectLogError("OpenSSL Error");
        var endpoint = Endpoint(Broker.MutualTlsPort);
        endpoint.Tls = new MqttClientTlsFileOptions { Enabled = true, CaFile = TestPki.Shared.OtherCaFile };
        var link = Track(NewLink(ExternalOptions(Pair, NodeA, NodeB, endpoint), Log));

        await link.StartAsync(WillFor(NodeA), CancellationToken.None);

        var status = Assert.Single(link.GetPathStatus());
        Assert.False(status.Connected);
        Assert.NotNull(status.LastError);
        Assert.Contains(Log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("mq (127.0.0.1", StringComparison.Ordinal) && l.Contains("failed to connect", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Username_and_password_file_authenticate_and_the_password_is_neverLogged()
    {
        var (a, _, _, inboxB) = await StartPairAsync(node =>
        {
            var endpoint = Endpoint(Broker.AuthPort);
            endpoint.Username = node;
            endpoint.PasswordFile = Broker.PasswordFiles[node];
            return endpoint;
        });

        await a.PublishAsync(PeerChannel.Command, Bytes("cmd-authenticated"), CancellationToken.None);
        await inboxB.WaitForAsync(PeerChannel.Command, "cmd-authenticated", "mq");
        Assert.DoesNotContain(Broker.Passwords[NodeA], Log.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(Broker.Passwords[NodeB], Log.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_password_is_a_clear_refusal_without_the_secret_in_theLog()
    {
        var wrongPasswordFile = Path.Combine(Broker.Directory, "wrong.password");
        const string WrongPassword = "not-the-password-7f3a";
        await File.WriteAllTextAsync(wrongPasswordFile, WrongPassword + "\n");
        var endpoint = Endpoint(Broker.AuthPort);
        endpoint.Username = NodeA;
        endpoint.PasswordFile = wrongPasswordFile;
        var link = Track(NewLink(ExternalOptions(Pair, NodeA, NodeB, endpoint), Log));

        await link.StartAsync(WillFor(NodeA), CancellationToken.None);

        var status = Assert.Single(link.GetPathStatus());
        Assert.False(status.Connected);
        Assert.Matches("^broker refused: (BadUserNameOrPassword|NotAuthorized)$", status.LastError);
        Assert.Contains(Log.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("refused the connection", StringComparison.Ordinal));
        Assert.DoesNotContain(WrongPassword, Log.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(Broker.Passwords[NodeA], Log.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Both_links_reconnect_by_themselves_after_theBroker_is_killed_and_restarted()
    {
        var (a, b, inboxA, inboxB) = await StartPairAsync(node => Endpoint(Broker.PlainPort));
        await a.PublishAsync(PeerChannel.State, Bytes("a-active"), CancellationToken.None);
        await inboxB.WaitForAsync(PeerChannel.State, "a-active");

        Broker.Kill();
        await WaitForPathsAsync(a, paths => !paths[0].Connected);
        await WaitForPathsAsync(b, paths => !paths[0].Connected);
        await a.PublishAsync(PeerChannel.Heartbeat, Bytes("hb-into-the-void"), CancellationToken.None); // skipped, must not hang

        await Broker.StartAsync();
        await WaitAllConnectedAsync(a);
        await WaitAllConnectedAsync(b);

        Assert.All(a.GetPathStatus().Concat(b.GetPathStatus()), p => Assert.True(p.ReconnectCount >= 1, p.ToString()));
        await a.PublishAsync(PeerChannel.Heartbeat, Bytes("hb-after-restart"), CancellationToken.None);
        await b.PublishAsync(PeerChannel.State, Bytes("state-after-restart"), CancellationToken.None);
        await inboxB.WaitForAsync(PeerChannel.Heartbeat, "hb-after-restart");
        await inboxA.WaitForAsync(PeerChannel.State, "state-after-restart");
        Assert.DoesNotContain("hb-into-the-void", inboxB.Texts(PeerChannel.Heartbeat));

        // The restarted broker lost the retained state; A re-published what it last said on reconnect.
        await inboxB.WaitForAsync(f => f.Channel == PeerChannel.State && inboxB.Texts(PeerChannel.State).Count(t => t == "a-active") >= 2);
    }

    [Fact]
    public async Task A_frozenBroker_is_detected_by_ping_and_publishing_does_not_hang()
    {
        var (a, b, _, inboxB) = await StartPairAsync(node => Endpoint(Broker.PlainPort));

        await Broker.SetFrozenAsync(true);
        await WaitForPathsAsync(a, paths => !paths[0].Connected);
        Assert.Contains("PINGRESP", a.GetPathStatus()[0].LastError, StringComparison.Ordinal);
        var publish = a.PublishAsync(PeerChannel.Command, Bytes("cmd-while-frozen"), CancellationToken.None).AsTask();
        Assert.Same(publish, await Task.WhenAny(publish, Task.Delay(Bound)));

        await Broker.SetFrozenAsync(false);
        await WaitAllConnectedAsync(a);
        await WaitAllConnectedAsync(b);
        await a.PublishAsync(PeerChannel.Command, Bytes("cmd-after-thaw"), CancellationToken.None);
        await inboxB.WaitForAsync(PeerChannel.Command, "cmd-after-thaw");
    }

    private async Task<(MqttPeerLink A, MqttPeerLink B, FrameInbox InboxA, FrameInbox InboxB)> StartPairAsync(Func<string, MqttBrokerEndpointOptions> endpointFor)
    {
        var a = Track(NewLink(ExternalOptions(Pair, NodeA, NodeB, endpointFor(NodeA)), Log, out var inboxA));
        var b = Track(NewLink(ExternalOptions(Pair, NodeB, NodeA, endpointFor(NodeB)), Log, out var inboxB));
        await Task.WhenAll(a.StartAsync(WillFor(NodeA), CancellationToken.None), b.StartAsync(WillFor(NodeB), CancellationToken.None));
        Assert.All(a.GetPathStatus().Concat(b.GetPathStatus()), p => Assert.True(p.Connected, p.ToString()));
        return (a, b, inboxA, inboxB);
    }

}
