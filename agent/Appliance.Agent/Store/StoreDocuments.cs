namespace Appliance.Agent.Store;

// LiteDB documents. Times are Unix milliseconds (UTC): LiteDB's DateTime round-trips as local time.

internal sealed class IdentityDocument
{
    public string Id { get; set; } = "node";
    public string NodeId { get; set; } = "";
    public long CreatedAtMs { get; set; }
    public long BootCount { get; set; }
}

internal sealed class HistoryDocument
{
    public long Id { get; set; }
    public long TimeMs { get; set; }
    public string Kind { get; set; } = "";
    public string Message { get; set; } = "";
    public string Cause { get; set; } = "";
}

internal sealed class SettingDocument
{
    public string Id { get; set; } = "";
    public string Json { get; set; } = "";
}

/// <summary>A secret, AES-GCM protected under the agent's key file; <see cref="Id"/> is its field name.</summary>
internal sealed class SecretDocument
{
    public string Id { get; set; } = "";
    public string Protected { get; set; } = "";
}
