using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Appliance.Agent.Mqtt;

/// <summary>PEM loading and CA pinning shared by the link's clients and the embedded broker.</summary>
internal static class MqttTls
{
    /// <summary>Every certificate in a PEM bundle; fails naming the file when it holds none.</summary>
    public static X509Certificate2Collection LoadCaBundle(string path)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new InvalidOperationException($"CA file '{path}' is not a readable PEM certificate bundle: {ex.Message}", ex);
        }

        if (roots.Count == 0)
        {
            throw new InvalidOperationException($"CA file '{path}' contains no PEM certificate.");
        }

        return roots;
    }

    /// <summary>
    /// Certificate plus unencrypted PEM key, re-imported as PKCS#12 because SslStream on Windows
    /// cannot use the ephemeral key that CreateFromPemFile returns.
    /// </summary>
    public static X509Certificate2 LoadCertificateWithKey(string certificatePath, string keyPath)
    {
        try
        {
            using var ephemeral = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new InvalidOperationException(
                $"certificate '{certificatePath}' with key '{keyPath}' could not be loaded as PEM: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Accepts a remote certificate only if it chains to one of <paramref name="roots"/> (the system
    /// store is deliberately not consulted: the pair pins its own CA). Host-name mismatch still fails.
    /// </summary>
    public static bool ChainsToPinnedRoots(X509Certificate? remote, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (remote is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(remote.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            // Intermediates the peer sent are candidates for path building, never trust anchors.
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(leaf);
    }
}
