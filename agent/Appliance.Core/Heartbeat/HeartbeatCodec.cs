using System.Security.Cryptography;
using System.Text.Json;

namespace Appliance.Core.Heartbeat;

/// <summary>Why a received frame was dropped; each reason has its own counter.</summary>
public enum RejectReason
{
    Malformed,
    BadSignature,
    /// <summary>Sequence not above the last accepted for (node, boot, path): a replay or a duplicate.</summary>
    NotNewer,
    /// <summary>An offline will from a connection older than every connection the peer last reported live on that path.</summary>
    StaleWill,
    TooOld,
    FromFuture,
    /// <summary>Our own message echoed back, or a node that is not our peer.</summary>
    NotFromPeer,
}

/// <summary>Outcome of <see cref="HeartbeatCodec.Decode"/>: a message, or the reason it was rejected.</summary>
public readonly record struct DecodeResult(PeerMessage? Message, RejectReason? Rejected)
{
    public bool IsAccepted => Message is not null;
}

/// <summary>
/// Wire format: [version 1 byte][HMAC-SHA256 32 bytes][compact JSON]. The MAC covers version and
/// JSON. Verification order is cheapest-safe first: length, signature (constant time), then the
/// parsed fields, so an unsigned frame never touches the replay window.
/// Key rotation never interrupts the pair: after <see cref="Keys"/> is rotated the codec keeps signing
/// with the previous key until a frame from the peer shows it holds the new one (its KeyFingerprint),
/// so the two nodes can be rotated one after the other in any order within KeyOverlap.
/// Decode is not thread-safe: the engine loop owns it; Encode may run on the link's thread.
/// </summary>
public sealed class HeartbeatCodec
{
    private const byte Version = 1;
    private const int MacLength = 32;
    private const int HeaderLength = 1 + MacLength;

    /// <summary>Bounds the replay table: a pair has one peer with a handful of boots and paths.</summary>
    private const int MaxReplayEntries = 32;

    private readonly string _localNodeId;
    private TimeSpan _maxAge;
    private TimeSpan _maxFutureSkew;
    private readonly Dictionary<(string Node, string Boot, string Path), ReplayWindow> _windows = [];
    private readonly long[] _rejections = new long[Enum.GetValues<RejectReason>().Length];
    private long _useCounter;

    public HeartbeatCodec(string localNodeId, PairKeyRing keys, TimeSpan maxMessageAge, TimeSpan maxFutureSkew)
    {
        ArgumentException.ThrowIfNullOrEmpty(localNodeId);
        _localNodeId = localNodeId;
        Keys = keys;
        _maxAge = maxMessageAge;
        _maxFutureSkew = maxFutureSkew;
    }

    /// <summary>New age limits from a settings change; the replay windows stay (a reset would let old frames in again).</summary>
    public void SetAgeLimits(TimeSpan maxMessageAge, TimeSpan maxFutureSkew)
    {
        _maxAge = maxMessageAge;
        _maxFutureSkew = maxFutureSkew;
    }

    private volatile PairKeyRing _keys = null!;
    private volatile bool _peerHoldsCurrent;

    /// <summary>Swapped atomically on rotation.</summary>
    public PairKeyRing Keys
    {
        get => _keys;
        set
        {
            _keys = value;
            _peerHoldsCurrent = value.Previous is null;
        }
    }

    /// <summary>Only frames from this node are accepted (null while unpaired: any node but us).</summary>
    public string? ExpectedPeer { get; set; }

    public long RejectedCount(RejectReason reason) => Interlocked.Read(ref _rejections[(int)reason]);

    public IReadOnlyDictionary<RejectReason, long> RejectionCounts =>
        Enum.GetValues<RejectReason>().ToDictionary(r => r, RejectedCount);

    public byte[] Encode(PeerMessage message)
    {
        PairKeyRing keys = _keys;
        PairKey signer = _peerHoldsCurrent || keys.Previous is null || message.SentAt >= keys.PreviousAcceptedUntil
            ? keys.Current
            : keys.Previous;
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(
            message with { KeyFingerprint = keys.Current.Fingerprint }, PeerMessageJsonContext.Default.PeerMessage);
        var frame = new byte[HeaderLength + json.Length];
        frame[0] = Version;
        json.CopyTo(frame, HeaderLength);
        byte[] mac = signer.Sign(SignedPart(frame));
        mac.CopyTo(frame, 1);
        return frame;
    }

    public DecodeResult Decode(ReadOnlySpan<byte> frame, string path, DateTimeOffset now)
    {
        if (frame.Length <= HeaderLength || frame[0] != Version)
        {
            return Reject(RejectReason.Malformed);
        }

        if (!SignatureMatches(frame, now))
        {
            return Reject(RejectReason.BadSignature);
        }

        PeerMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(frame[HeaderLength..], PeerMessageJsonContext.Default.PeerMessage);
        }
        catch (JsonException)
        {
            return Reject(RejectReason.Malformed);
        }

        if (message is null || string.IsNullOrEmpty(message.BootId))
        {
            return Reject(RejectReason.Malformed);
        }

        if (message.NodeId == _localNodeId || (ExpectedPeer is not null && message.NodeId != ExpectedPeer))
        {
            return Reject(RejectReason.NotFromPeer);
        }

        // A will is built when its connection opens, so its SentAt is as old as the connection:
        // only the far-future bound applies to it; its freshness comes from the generation check.
        if (message.Kind != PeerMessageKind.OfflineWill && now - message.SentAt > _maxAge)
        {
            return Reject(RejectReason.TooOld);
        }

        if (message.SentAt - now > _maxFutureSkew)
        {
            return Reject(RejectReason.FromFuture);
        }

        var key = (message.NodeId, message.BootId, path);
        ref ReplayWindow window = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_windows, key, out bool existed);
        if (!existed)
        {
            window = new ReplayWindow(-1, -1, 0);
        }

        if (message.Kind == PeerMessageKind.OfflineWill)
        {
            if (message.ConnectionGeneration < window.OldestLiveGeneration)
            {
                return Reject(RejectReason.StaleWill);
            }
        }
        else if (message.Sequence <= window.LastSequence)
        {
            return Reject(RejectReason.NotNewer);
        }

        window = new ReplayWindow(
            message.Kind == PeerMessageKind.OfflineWill ? window.LastSequence : message.Sequence,
            Math.Max(window.OldestLiveGeneration, OldestLive(message)),
            ++_useCounter);
        if (message.KeyFingerprint == _keys.Current.Fingerprint)
        {
            _peerHoldsCurrent = true;
        }

        EvictIfFull();
        return new DecodeResult(message, null);
    }

    private bool SignatureMatches(ReadOnlySpan<byte> frame, DateTimeOffset now)
    {
        ReadOnlySpan<byte> mac = frame.Slice(1, MacLength);
        bool matched = false;
        foreach (PairKey key in _keys.AcceptedAt(now))
        {
            // Try every accepted key so the time taken does not reveal which key matched.
            matched |= CryptographicOperations.FixedTimeEquals(key.Sign(SignedPart(frame)), mac);
        }

        return matched;
    }

    // Version byte + JSON, skipping the MAC slot; copied because HMAC needs one contiguous span.
    private static byte[] SignedPart(ReadOnlySpan<byte> frame) => [frame[0], .. frame[HeaderLength..]];

    private void EvictIfFull()
    {
        if (_windows.Count <= MaxReplayEntries)
        {
            return;
        }

        var oldest = _windows.MinBy(kv => kv.Value.LastUsed).Key;
        _windows.Remove(oldest);
    }

    private DecodeResult Reject(RejectReason reason)
    {
        Interlocked.Increment(ref _rejections[(int)reason]);
        return new DecodeResult(null, reason);
    }

    /// <summary>
    /// The lowest generation that can still be current after this message: its oldest listed live
    /// connection, else (a will, or a sender that lists none) its own generation. The machine then
    /// honours only a will whose generation is listed; this filter drops what is certainly stale.
    /// </summary>
    private static long OldestLive(PeerMessage message) =>
        message.Kind != PeerMessageKind.OfflineWill && message.LiveGenerations is { Length: > 0 } live ? live.Min() : message.ConnectionGeneration;

    private readonly record struct ReplayWindow(long LastSequence, long OldestLiveGeneration, long LastUsed);
}
