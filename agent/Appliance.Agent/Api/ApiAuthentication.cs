using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Appliance.Agent.Store;
using Microsoft.AspNetCore.Connections.Features;

namespace Appliance.Agent.Api;

/// <summary>
/// Who may call the authenticated endpoints: a caller on the local socket (its file mode is the gate:
/// root or the socket's group), or a caller presenting a bearer token whose SHA-256 is in the store.
/// Tokens are 256-bit random values, so a plain hash (not a slow KDF) is the right check.
/// </summary>
public sealed class ApiAuthentication
{
    /// <summary>Connection item set by the local listener's connection middleware.</summary>
    public const string LocalSocketItem = "appliance.local-socket";
    private const string TokenPrefix = "api-token:";

    private readonly AgentStore _store;
    private readonly ConcurrentDictionary<string, byte[]> _hashesByName = new(StringComparer.Ordinal);

    public ApiAuthentication(AgentStore store)
    {
        _store = store;
        foreach (var name in store.ListSecretNames(TokenPrefix))
        {
            _hashesByName[name[TokenPrefix.Length..]] = Convert.FromHexString(store.ReadSecret(name)!);
        }
    }

    public static bool IsLocalSocket(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(LocalSocketItem) == true;

    public bool IsAuthorized(HttpContext context)
    {
        if (IsLocalSocket(context))
        {
            return true;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return false;
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
        var match = false;
        foreach (var hash in _hashesByName.Values)
        {
            // Visit every token so the time taken does not reveal which one matched.
            match |= CryptographicOperations.FixedTimeEquals(hash, presented);
        }

        return match;
    }

    /// <summary>Creates (or replaces) a named token and returns its only plaintext copy.</summary>
    public string CreateToken(string name)
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        _store.WriteSecret(TokenPrefix + name, Convert.ToHexString(hash));
        _hashesByName[name] = hash;
        return token;
    }
}
