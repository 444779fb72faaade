using Appliance.Core.Ports;

namespace Appliance.Hw.Bmc;

/// <summary>How ipmitool reaches the BMC.</summary>
public enum IpmiInterface
{
    /// <summary>IPMI v2.0 RMCP+ over the network (<c>-I lanplus</c>).</summary>
    Lanplus,

    /// <summary>The local in-band device /dev/ipmi0 (<c>-I open</c>); no credentials.</summary>
    Open,
}

/// <summary>
/// One BMC connection (<c>Appliance:Bmc</c> for this node's own BMC, <c>Appliance:Ha:Fencing:Bmc</c> for the peer's).
/// The password is never in configuration: only the path of a file holding it.
/// </summary>
public sealed class BmcOptions
{
    /// <summary>Protocol; null means auto-detect (IPMI over /dev/ipmi0 when present, else None).</summary>
    public BmcKind? Kind { get; set; }

    /// <summary>BMC address (IPMI LAN, Redfish); empty for local access.</summary>
    public string? Host { get; set; }

    /// <summary>Port; null means the protocol default (623 for IPMI, 443 for Redfish).</summary>
    public int? Port { get; set; }

    /// <summary>BMC user name.</summary>
    public string? User { get; set; }

    /// <summary>File holding the BMC password (first line); should be mode 0600.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>RMCP+ cipher suite (3 = HMAC-SHA1/AES; iDRAC9 also offers 17).</summary>
    public int CipherSuite { get; set; } = 3;

    /// <summary>lanplus or open; null means open when no Host is set, else lanplus.</summary>
    public IpmiInterface? Interface { get; set; }

    /// <summary>IPMI LAN channel of the BMC's NIC (1 on Dell).</summary>
    public int IpmiChannel { get; set; } = 1;

    /// <summary>Redfish: SHA-256 thumbprint (hex, colons allowed) the BMC's certificate must have; null means system trust.</summary>
    public string? CertificateThumbprint { get; set; }

    /// <summary>Per-command (or per-HTTP-request) limit.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often this node's own BMC is polled for sensors and SEL (ignored for the fencing peer's BMC).</summary>
    public TimeSpan HealthPollInterval { get; set; } = HardwareHealthPoller.DefaultPeriod;

    /// <summary>ipmitool executable.</summary>
    public string IpmitoolPath { get; set; } = "ipmitool";

    /// <summary>racadm executable.</summary>
    public string RacadmPath { get; set; } = "racadm";

    /// <summary>The resolved kind (auto-detect applied by the caller through <see cref="BmcFactory"/>).</summary>
    internal BmcKind EffectiveKind(Func<bool> localDevicePresent) =>
        Kind ?? (localDevicePresent() ? BmcKind.Ipmi : BmcKind.None);

    internal IpmiInterface EffectiveInterface => Interface ?? (string.IsNullOrWhiteSpace(Host) ? IpmiInterface.Open : IpmiInterface.Lanplus);

    internal int EffectivePort(BmcKind kind) => Port ?? (kind == BmcKind.Redfish ? 443 : 623);

    /// <summary>Every configuration problem, each naming the key, value and allowed range; empty when valid.</summary>
    public IReadOnlyList<string> Validate(string section = "Appliance:Bmc")
    {
        var errors = new List<string>();
        var kind = Kind ?? BmcKind.None;
        if (Kind is { } k && !Enum.IsDefined(k))
            errors.Add($"{section}:Kind '{k}' is invalid: Ipmi, Redfish, Racadm or None");
        if (Port is { } port && port is < 1 or > 65535)
            errors.Add($"{section}:Port '{port}' is invalid: 1–65535");
        if (CipherSuite is < 0 or > 17)
            errors.Add($"{section}:CipherSuite '{CipherSuite}' is invalid: 0–17 (3 or 17 recommended)");
        if (IpmiChannel is < 1 or > 15)
            errors.Add($"{section}:IpmiChannel '{IpmiChannel}' is invalid: 1–15");
        if (CommandTimeout <= TimeSpan.Zero || CommandTimeout > TimeSpan.FromMinutes(5))
            errors.Add($"{section}:CommandTimeout '{CommandTimeout}' is invalid: above 0 and at most 00:05:00");
        if (HealthPollInterval < TimeSpan.FromSeconds(1) || HealthPollInterval > TimeSpan.FromHours(1))
            errors.Add($"{section}:HealthPollInterval '{HealthPollInterval}' is invalid: 00:00:01 to 01:00:00");
        var needsNetwork = kind == BmcKind.Redfish || (kind == BmcKind.Ipmi && EffectiveInterface == IpmiInterface.Lanplus);
        if (needsNetwork)
        {
            if (string.IsNullOrWhiteSpace(Host))
                errors.Add($"{section}:Host '' is invalid: required for {kind} over the network");
            if (string.IsNullOrWhiteSpace(User))
                errors.Add($"{section}:User '' is invalid: required for {kind} over the network");
            if (string.IsNullOrWhiteSpace(PasswordFile))
                errors.Add($"{section}:PasswordFile '' is invalid: required for {kind} over the network (a file holding the password)");
        }

        if (kind == BmcKind.Racadm && !string.IsNullOrWhiteSpace(Host))
            errors.Add($"{section}:Host '{Host}' is invalid: racadm is local only here (remote racadm takes the password on its command line); use Redfish for a remote iDRAC");
        if (CertificateThumbprint is { } pin && NormalizeThumbprint(pin) is null)
            errors.Add($"{section}:CertificateThumbprint '{pin}' is invalid: 64 hex digits (SHA-256), colons or spaces allowed");
        return errors;
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> listing every problem.</summary>
    public void EnsureValid(string section = "Appliance:Bmc")
    {
        var errors = Validate(section);
        if (errors.Count > 0)
            throw new InvalidOperationException("Invalid BMC configuration: " + string.Join("; ", errors));
    }

    internal static string? NormalizeThumbprint(string pin)
    {
        var hex = new string(pin.Where(c => c is not (':' or ' ' or '-')).ToArray()).ToUpperInvariant();
        return hex.Length == 64 && hex.All(Uri.IsHexDigit) ? hex : null;
    }
}

/// <summary>Fencing of the peer (<c>Appliance:Ha:Fencing</c>).</summary>
public sealed class FencingOptions
{
    /// <summary>Whether this node fences the peer before promoting.</summary>
    public bool Enabled { get; set; }

    /// <summary>The PEER's BMC (Kind, Host, Port, User, PasswordFile, CipherSuite, …).</summary>
    public BmcOptions Bmc { get; set; } = new();

    /// <summary>Bound on one whole fence (power off plus confirmation).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How often power status is polled while confirming off.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Every configuration problem; empty when valid (or disabled).</summary>
    public IReadOnlyList<string> Validate()
    {
        if (!Enabled)
            return [];
        var errors = new List<string>(Bmc.Validate("Appliance:Ha:Fencing:Bmc"));
        if (Bmc.Kind is null or BmcKind.None or BmcKind.Racadm)
            errors.Add($"Appliance:Ha:Fencing:Bmc:Kind '{Bmc.Kind}' is invalid: the peer's BMC needs Ipmi or Redfish");
        else if (Bmc.Kind == BmcKind.Ipmi && Bmc.EffectiveInterface == IpmiInterface.Open)
            errors.Add("Appliance:Ha:Fencing:Bmc:Interface 'Open' is invalid: the peer is fenced over the network (lanplus)");
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(5))
            errors.Add($"Appliance:Ha:Fencing:Timeout '{Timeout}' is invalid: above 0 and at most 00:05:00");
        if (PollInterval <= TimeSpan.Zero || PollInterval >= Timeout)
            errors.Add($"Appliance:Ha:Fencing:PollInterval '{PollInterval}' is invalid: above 0 and below the timeout");
        return errors;
    }
}
