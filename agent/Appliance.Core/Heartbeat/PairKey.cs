using System.Security.Cryptography;

namespace Appliance.Core.Heartbeat;

/// <summary>
/// The pair's pre-shared HMAC key. Holds its bytes privately: ToString, records and exceptions
/// only ever show a fingerprint, so the key cannot leak through logs or status output.
/// </summary>
public sealed class PairKey
{
    /// <summary>HMAC-SHA256 keys shorter than the hash add no strength below 128 bits; 16 bytes is the floor.</summary>
    public const int MinLength = 16;
    public const int MaxLength = 64;

    private readonly byte[] _bytes;

    public PairKey(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length is < MinLength or > MaxLength)
        {
            throw new ArgumentException(
                $"PairKey length={bytes.Length} bytes is out of range: allowed {MinLength} – {MaxLength} bytes", nameof(bytes));
        }

        _bytes = bytes.ToArray();
        Fingerprint = Convert.ToHexStringLower(SHA256.HashData(_bytes).AsSpan(0, 4));
    }

    /// <summary>First 4 bytes of SHA-256 of the key, hex: enough to tell keys apart, useless to an attacker.</summary>
    public string Fingerprint { get; }

    internal byte[] Sign(ReadOnlySpan<byte> data) => HMACSHA256.HashData(_bytes, data);

    public override string ToString() => $"PairKey(fingerprint {Fingerprint})";
}

/// <summary>
/// Current signing key plus, during a rotation, the previous key that is still accepted until
/// <see cref="PreviousAcceptedUntil"/> (KeyOverlap), so rotating keys never causes a failover.
/// </summary>
public sealed record PairKeyRing(PairKey Current, PairKey? Previous = null, DateTimeOffset PreviousAcceptedUntil = default)
{
    public PairKeyRing Rotate(PairKey next, DateTimeOffset now, TimeSpan overlap) => new(next, Current, now + overlap);

    internal IEnumerable<PairKey> AcceptedAt(DateTimeOffset now)
    {
        yield return Current;
        if (Previous is not null && now < PreviousAcceptedUntil)
        {
            yield return Previous;
        }
    }
}
