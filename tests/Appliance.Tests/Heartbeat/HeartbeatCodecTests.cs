using System.Text;
using Appliance.Core.Failover;
using Appliance.Core.Heartbeat;

namespace Appliance.Tests.Heartbeat;

public class HeartbeatCodecTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly PairKey KeyOne = new(Enumerable.Repeat((byte)0x11, 32).ToArray());
    private static readonly PairKey KeyTwo = new(Enumerable.Repeat((byte)0x22, 32).ToArray());

    private static HeartbeatCodec Codec(string self, string peer, PairKey key) =>
        new(self, new PairKeyRing(key), TimeSpan.FromMinutes(600), TimeSpan.FromMinutes(5)) { ExpectedPeer = peer };

    private static PeerMessage Beat(long sequence, DateTimeOffset? sentAt = null, PeerMessageKind kind = PeerMessageKind.Heartbeat, long generation = 1) => new()
    {
        NodeId = "a",
        BootId = "boot-1",
        Sequence = sequence,
        SentAt = sentAt ?? Now,
        Kind = kind,
        Role = HaRole.Active,
        Epoch = 7,
        HoldsSharedIp = true,
        Health = "ok",
        MirrorPosition = 42,
        ConnectionGeneration = generation,
        HeartbeatIntervalMs = 1_000,
        FailoverTimeoutMs = 3_000,
        PairedAt = Now.AddDays(-1),
        Command = kind == PeerMessageKind.Command ? new PeerCommand(PeerCommandKind.RequestRelease, "r1", true) : null,
    };

    [Fact]
    public void A_signed_message_round_trips_every_field()
    {
        HeartbeatCodec sender = Codec("a", "b", KeyOne), receiver = Codec("b", "a", KeyOne);
        PeerMessage sent = Beat(1, kind: PeerMessageKind.Command);

        DecodeResult result = receiver.Decode(sender.Encode(sent), "p1", Now);

        Assert.True(result.IsAccepted);
        Assert.Equal(sent with { KeyFingerprint = KeyOne.Fingerprint }, result.Message);
    }

    [Fact]
    public void A_flipped_byte_or_a_foreign_key_is_a_bad_signature_and_counted()
    {
        HeartbeatCodec sender = Codec("a", "b", KeyOne), receiver = Codec("b", "a", KeyOne);
        byte[] frame = sender.Encode(Beat(1));
        frame[^3] ^= 0x01;
        byte[] foreign = Codec("a", "b", KeyTwo).Encode(Beat(2));

        Assert.Equal(RejectReason.BadSignature, receiver.Decode(frame, "p1", Now).Rejected);
        Assert.Equal(RejectReason.BadSignature, receiver.Decode(foreign, "p1", Now).Rejected);
        Assert.Equal(2, receiver.RejectedCount(RejectReason.BadSignature));
        Assert.Equal(0, receiver.RejectedCount(RejectReason.NotNewer));
    }

    [Fact]
    public void A_replayed_or_older_sequence_is_rejected_per_path()
    {
        HeartbeatCodec sender = Codec("a", "b", KeyOne), receiver = Codec("b", "a", KeyOne);
        byte[] five = sender.Encode(Beat(5)), four = sender.Encode(Beat(4));

        Assert.True(receiver.Decode(five, "p1", Now).IsAccepted);
        Assert.Equal(RejectReason.NotNewer, receiver.Decode(five, "p1", Now).Rejected);
        Assert.Equal(RejectReason.NotNewer, receiver.Decode(four, "p1", Now).Rejected);
        Assert.True(receiver.Decode(five, "p2", Now).IsAccepted); // the same heartbeat over the second path
        Assert.Equal(2, receiver.RejectedCount(RejectReason.NotNewer));
    }

    [Fact]
    public void Messages_beyond_MaxMessageAge_or_from_the_far_future_are_rejected()
    {
        HeartbeatCodec sender = Codec("a", "b", KeyOne), receiver = Codec("b", "a", KeyOne);

        Assert.Equal(RejectReason.TooOld, receiver.Decode(sender.Encode(Beat(1, Now.AddMinutes(-601))), "p1", Now).Rejected);
        Assert.Equal(RejectReason.FromFuture, receiver.Decode(sender.Encode(Beat(2, Now.AddMinutes(6))), "p1", Now).Rejected);
        Assert.True(receiver.Decode(sender.Encode(Beat(3, Now.AddMinutes(-599))), "p1", Now).IsAccepted);
        Assert.Equal(1, receiver.RejectionCounts[RejectReason.TooOld]);
        Assert.Equal(1, receiver.RejectionCounts[RejectReason.FromFuture]);
    }

    [Fact]
    public void Offline_wills_are_checked_by_generation_not_sequence()
    {
        HeartbeatCodec sender = Codec("a", "b", KeyOne), receiver = Codec("b", "a", KeyOne);
        Assert.True(receiver.Decode(sender.Encode(Beat(9, generation: 3)), "p1", Now).IsAccepted);

        // A will is made when its connection opens: sequence 0 and an old timestamp are normal.
        byte[] currentWill = sender.Encode(Beat(0, Now.AddDays(-2), PeerMessageKind.OfflineWill, generation: 3));
        byte[] lateWill = sender.Encode(Beat(0, Now.AddDays(-3), PeerMessageKind.OfflineWill, generation: 2));

        Assert.Equal(RejectReason.StaleWill, receiver.Decode(lateWill, "p1", Now).Rejected);
        Assert.True(receiver.Decode(currentWill, "p1", Now).IsAccepted);
    }

    [Fact]
    public void A_will_for_a_listed_live_connection_passes_although_a_newer_generation_exists()
    {
        // Connections 1 and 3 are live (2 was replaced): the will of 1 is current, the will of 2 is not.
        HeartbeatCodec sender = Codec("a", "b", KeyOne), receiver = Codec("b", "a", KeyOne);
        Assert.True(receiver.Decode(sender.Encode(Beat(9, generation: 3) with { LiveGenerations = [1, 3] }), "p1", Now).IsAccepted);
        Assert.True(receiver.Decode(sender.Encode(Beat(10, generation: 3) with { LiveGenerations = [2, 3] }), "p2", Now).IsAccepted);
        Assert.True(receiver.Decode(sender.Encode(Beat(11, generation: 3) with { LiveGenerations = [3] }), "p2", Now).IsAccepted);

        byte[] willOfOne = sender.Encode(Beat(0, Now.AddDays(-2), PeerMessageKind.OfflineWill, generation: 1));
        byte[] willOfTwo = sender.Encode(Beat(0, Now.AddDays(-2), PeerMessageKind.OfflineWill, generation: 2));

        Assert.True(receiver.Decode(willOfOne, "p1", Now).IsAccepted);
        Assert.Equal(RejectReason.StaleWill, receiver.Decode(willOfTwo, "p2", Now).Rejected);
    }

    [Fact]
    public void The_senders_timing_travels_as_hi_and_ft_and_a_message_without_it_still_verifies()
    {
        HeartbeatCodec sender = Codec("a", "b", KeyOne), receiver = Codec("b", "a", KeyOne);
        byte[] announced = sender.Encode(Beat(1));
        // An older agent's message: no "hi"/"ft" on the wire at all.
        byte[] older = sender.Encode(Beat(2) with { HeartbeatIntervalMs = null, FailoverTimeoutMs = null });

        Assert.Contains("\"hi\":1000,\"ft\":3000", Encoding.UTF8.GetString(announced), StringComparison.Ordinal);
        Assert.DoesNotContain("\"hi\"", Encoding.UTF8.GetString(older), StringComparison.Ordinal);
        Assert.Equal(new PeerTiming(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)), PeerTiming.AnnouncedBy(receiver.Decode(announced, "p1", Now).Message!));
        DecodeResult olderResult = receiver.Decode(older, "p1", Now);
        Assert.True(olderResult.IsAccepted);
        Assert.Null(PeerTiming.AnnouncedBy(olderResult.Message!));
    }

    [Theory]
    [InlineData(99L, 3_000L)]
    [InlineData(131_000L, 600_000L)]
    [InlineData(1_000L, 299L)]
    [InlineData(1_000L, long.MaxValue)]
    [InlineData(-1L, 3_000L)]
    public void Timing_outside_the_settings_ranges_counts_as_not_announced(long intervalMs, long timeoutMs) =>
        Assert.Null(PeerTiming.AnnouncedBy(Beat(1) with { HeartbeatIntervalMs = intervalMs, FailoverTimeoutMs = timeoutMs }));

    [Fact]
    public void Own_echoes_and_strangers_are_not_from_the_peer()
    {
        HeartbeatCodec receiver = Codec("b", "a", KeyOne);
        byte[] echo = Codec("b", "a", KeyOne).Encode(Beat(1) with { NodeId = "b" });
        byte[] stranger = Codec("c", "b", KeyOne).Encode(Beat(1) with { NodeId = "c" });

        Assert.Equal(RejectReason.NotFromPeer, receiver.Decode(echo, "p1", Now).Rejected);
        Assert.Equal(RejectReason.NotFromPeer, receiver.Decode(stranger, "p1", Now).Rejected);
    }

    [Fact]
    public void Short_or_unparsable_frames_are_malformed()
    {
        HeartbeatCodec receiver = Codec("b", "a", KeyOne);
        byte[] json = Encoding.UTF8.GetBytes("{not json");
        byte[] signedGarbage = [1, .. KeyOneMac([1, .. json]), .. json];

        Assert.Equal(RejectReason.Malformed, receiver.Decode(new byte[10], "p1", Now).Rejected);
        Assert.Equal(RejectReason.Malformed, receiver.Decode(signedGarbage, "p1", Now).Rejected);
    }

    [Fact]
    public void Rotating_the_key_one_node_at_a_time_never_loses_a_heartbeat()
    {
        HeartbeatCodec a = Codec("a", "b", KeyOne), b = Codec("b", "a", KeyOne);
        long seq = 0;
        bool Exchange(DateTimeOffset at)
        {
            seq++;
            bool toB = b.Decode(a.Encode(Beat(seq, at)), "p1", at).IsAccepted;
            bool toA = a.Decode(b.Encode(Beat(seq, at) with { NodeId = "b" }), "p1", at).IsAccepted;
            return toB && toA;
        }

        Assert.True(Exchange(Now));
        a.Keys = a.Keys.Rotate(KeyTwo, Now, TimeSpan.FromMinutes(60));
        Assert.True(Exchange(Now.AddMinutes(1))); // b still has only the old key: a keeps signing with it
        b.Keys = b.Keys.Rotate(KeyTwo, Now.AddMinutes(2), TimeSpan.FromMinutes(60));
        Assert.True(Exchange(Now.AddMinutes(3)));
        Assert.True(Exchange(Now.AddMinutes(4))); // both now sign with the new key
        Assert.True(Exchange(Now.AddMinutes(90))); // old key expired: nothing depends on it any more
        Assert.Equal(0, a.RejectedCount(RejectReason.BadSignature) + b.RejectedCount(RejectReason.BadSignature));

        byte[] oldKeyFrame = Codec("a", "b", KeyOne).Encode(Beat(++seq, Now.AddMinutes(90)));
        Assert.Equal(RejectReason.BadSignature, b.Decode(oldKeyFrame, "p1", Now.AddMinutes(90)).Rejected);
    }

    [Fact]
    public void The_key_never_appears_in_text()
    {
        byte[] secret = Encoding.ASCII.GetBytes("super-secret-pair-key-0123456789");
        var key = new PairKey(secret);
        var ring = new PairKeyRing(key);

        Assert.DoesNotContain("super-secret", key.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("super-secret", ring.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(secret)[..16], ring.ToString(), StringComparison.OrdinalIgnoreCase);
        var error = Assert.Throws<ArgumentException>(() => new PairKey(secret.AsSpan(0, 8)));
        Assert.StartsWith("PairKey length=8 bytes is out of range: allowed 16 – 64 bytes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(160, 160, false)]
    [InlineData(161, 160, true)]
    [InlineData(1000, 160, true)]
    public void Health_longer_than_160_characters_is_cut_and_marked(int length, int sent, bool cut)
    {
        string health = string.Concat(Enumerable.Range(0, length).Select(i => (char)('a' + (i % 26))));
        string shown = PeerMessage.CutHealth(health);

        Assert.Equal(sent, shown.Length);
        Assert.Equal(cut, shown.EndsWith('…'));
        Assert.StartsWith(shown.TrimEnd('…'), health, StringComparison.Ordinal);
    }

    [Fact]
    public void Health_is_never_cut_inside_a_character()
    {
        string health = new string('x', PeerMessage.MaxHealthLength - 2) + "\U0001F525 and more"; // the emoji straddles the cut
        Assert.Equal(new string('x', PeerMessage.MaxHealthLength - 2) + "…", PeerMessage.CutHealth(health));
    }

    private static byte[] KeyOneMac(byte[] data) => System.Security.Cryptography.HMACSHA256.HashData(Enumerable.Repeat((byte)0x11, 32).ToArray(), data);
}
