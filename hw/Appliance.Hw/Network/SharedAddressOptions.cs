using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Appliance.Hw.Network;

/// <summary>
/// <c>Appliance:Ha:SharedAddress</c>: the address clients use, held by the Active only. Empty
/// <see cref="Address"/> = no shared address (traffic moves by DNS/NAT swing or hooks).
/// </summary>
public sealed partial class SharedAddressOptions
{
    public const string Section = "Appliance:Ha:SharedAddress";
    public const int MaxAnnouncements = 20;

    /// <summary>IPv4 address with prefix length, e.g. <c>192.0.2.50/24</c> (a bare address means /32).</summary>
    public string Address { get; set; } = "";

    /// <summary>The interface (or team/bond) that carries it, e.g. <c>eth0</c>, <c>bond0</c>, <c>bond0.20</c>.</summary>
    public string Interface { get; set; } = "";

    /// <summary>Gratuitous ARPs sent one second apart after taking the address (keepalived's garp_master_repeat is 5).</summary>
    public int Announcements { get; set; } = 5;

    public string IpPath { get; set; } = "ip";

    public string ArpingPath { get; set; } = "arping";

    /// <summary>Per <c>ip</c> call; adding or removing an address takes milliseconds.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public bool Enabled => Address.Length > 0;

    /// <summary>The parsed address and prefix; only meaningful when <see cref="Validate"/> returned no errors.</summary>
    public (IPAddress Address, int PrefixLength) Parsed()
    {
        string[] parts = Address.Split('/');
        return (IPAddress.Parse(parts[0]), parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 32);
    }

    /// <summary>One line per invalid key: key, value and what is allowed. Empty when valid or not enabled.</summary>
    public IReadOnlyList<string> Validate(bool isLinux)
    {
        var errors = new List<string>();
        if (!Enabled)
        {
            return errors;
        }

        if (!isLinux)
        {
            errors.Add($"{Section}:Address is set but a shared address is supported on Linux only: leave it empty and move traffic with hooks");
        }

        string[] parts = Address.Split('/');
        bool addressOk = parts.Length <= 2 && IPAddress.TryParse(parts[0], out IPAddress? ip) && ip.AddressFamily == AddressFamily.InterNetwork
            && parts[0].Count(c => c == '.') == 3;
        bool prefixOk = parts.Length == 1 || (int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int prefix) && prefix is >= 1 and <= 32);
        if (!addressOk || !prefixOk)
        {
            errors.Add($"{Section}:Address='{Address}' is invalid: allowed an IPv4 address with an optional prefix length 1 – 32 (e.g. 192.0.2.50/24)");
        }

        if (!InterfaceName().IsMatch(Interface))
        {
            errors.Add($"{Section}:Interface='{Interface}' is invalid: allowed a Linux interface name of 1 – 15 characters (letters, digits, '.', '-', '_'), required with Address");
        }

        if (Announcements is < 1 or > MaxAnnouncements)
        {
            errors.Add($"{Section}:Announcements={Announcements} is out of range: allowed 1 – {MaxAnnouncements}");
        }

        if (CommandTimeout < TimeSpan.FromSeconds(1) || CommandTimeout > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{Section}:CommandTimeout={CommandTimeout} is out of range: allowed 00:00:01 – 00:01:00");
        }

        return errors;
    }

    // IFNAMSIZ is 16 with the terminating NUL; '/', ':' and whitespace are never valid in a name ip accepts here.
    [GeneratedRegex("^[A-Za-z0-9_.-]{1,15}$")]
    private static partial Regex InterfaceName();
}
