using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;

namespace Appliance.Agent.Store;

/// <summary>
/// Field-by-field encryption of secrets (pre-shared key, BMC/SMTP passwords, API token hashes) with
/// AES-256-GCM under a key file only the agent can read. LiteDB's own file encryption (AES-ECB) is not
/// relied on: ECB leaks patterns, and its password would sit beside the data anyway.
/// Format: "v1:" + base64(nonce[12] | tag[16] | ciphertext). The field name is bound as associated data,
/// so a ciphertext copied into another field does not decrypt.
/// </summary>
public sealed class SecretProtector : IDisposable
{
    private const string Prefix = "v1:";
    private const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly AesGcm _aes;

    private SecretProtector(byte[] key)
    {
        _aes = new AesGcm(key, TagSize);
        CryptographicOperations.ZeroMemory(key);
    }

    /// <summary>Loads the key file, creating it (mode 0600 / DPAPI on Windows) on first start.</summary>
    public static SecretProtector OpenOrCreate(string keyPath)
    {
        if (File.Exists(keyPath))
        {
            return new SecretProtector(ReadKey(keyPath));
        }

        var key = RandomNumberGenerator.GetBytes(KeySize);
        WriteKey(keyPath, key);
        return new SecretProtector(key);
    }

    public string Protect(string field, string plaintext)
    {
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var blob = new byte[NonceSize + TagSize + plain.Length];
        var nonce = blob.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, plain, blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), Encoding.UTF8.GetBytes(field));
        CryptographicOperations.ZeroMemory(plain);
        return Prefix + Convert.ToBase64String(blob);
    }

    /// <exception cref="CryptographicException">The value was tampered with, belongs to another field, or another key.</exception>
    public string Unprotect(string field, string protectedValue)
    {
        if (!protectedValue.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new CryptographicException($"secret '{field}' is not in the v1 protected format");
        }

        var blob = Convert.FromBase64String(protectedValue[Prefix.Length..]);
        if (blob.Length < NonceSize + TagSize)
        {
            throw new CryptographicException($"secret '{field}' is truncated");
        }

        var plain = new byte[blob.Length - NonceSize - TagSize];
        _aes.Decrypt(blob.AsSpan(0, NonceSize), blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), plain, Encoding.UTF8.GetBytes(field));
        return Encoding.UTF8.GetString(plain);
    }

    public void Dispose() => _aes.Dispose();

    private static byte[] ReadKey(string keyPath)
    {
        var stored = File.ReadAllBytes(keyPath);
        var key = OperatingSystem.IsWindows() ? UnprotectWithDpapi(stored) : stored;
        if (key.Length != KeySize)
        {
            throw new CryptographicException($"secrets key file '{keyPath}' is {key.Length} bytes: {KeySize} expected");
        }

        return key;
    }

    private static void WriteKey(string keyPath, byte[] key)
    {
        var tmp = keyPath + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(tmp, options))
        {
            stream.Write(OperatingSystem.IsWindows() ? ProtectWithDpapi(key) : key);
            stream.Flush(flushToDisk: true);
        }

        File.Move(tmp, keyPath, overwrite: false);
        DurableFile.FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(keyPath))!);
    }

    [SupportedOSPlatform("windows")]
    private static byte[] ProtectWithDpapi(byte[] key) =>
        ProtectedData.Protect(key, optionalEntropy: null, DataProtectionScope.LocalMachine);

    [SupportedOSPlatform("windows")]
    private static byte[] UnprotectWithDpapi(byte[] stored) =>
        ProtectedData.Unprotect(stored, optionalEntropy: null, DataProtectionScope.LocalMachine);
}
