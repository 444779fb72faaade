using System.Security.Cryptography;

namespace Appliance.Core.Ports;

/// <summary>Cryptographic random bytes; injected so tests can be deterministic.</summary>
public interface ISecureRandom
{
    void Fill(Span<byte> destination);
}

/// <summary>The production <see cref="ISecureRandom"/>: the OS CSPRNG.</summary>
public sealed class CryptoSecureRandom : ISecureRandom
{
    public static CryptoSecureRandom Instance { get; } = new();

    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}
