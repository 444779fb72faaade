using System.Net;
using System.Net.Sockets;
using System.Text;
using Appliance.Core.Ports;

namespace Appliance.Hw.Bmc;

/// <summary>Checks BMC requests before anything is sent; each failure names the field, value and allowed range.</summary>
public static class BmcRequestValidator
{
    /// <summary>Smallest password the BMC policy accepts.</summary>
    public const int MinPasswordBytes = 8;

    /// <summary>IPMI v2.0 stores at most 20 bytes; iDRAC rejects longer passwords too.</summary>
    public const int MaxPasswordBytes = 20;

    /// <summary>Validates a LAN change; returns the parsed static addresses (null for DHCP).</summary>
    public static (IPAddress Address, IPAddress Netmask, IPAddress Gateway)? ValidateLan(BmcLanRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.VlanId is { } vlan && vlan is < 1 or > 4094)
            throw new BmcValidationException("vlan", vlan.ToString(System.Globalization.CultureInfo.InvariantCulture), "VLAN id must be 1–4094 (or off)");
        if (request.IpSource == BmcIpSource.Dhcp)
            return null;

        var address = ParseHostAddress("address", request.Address);
        var netmask = ParseIPv4("netmask", request.Netmask);
        var maskBits = ToUInt32(netmask);
        var prefix = System.Numerics.BitOperations.PopCount(maskBits);
        if (prefix is 0 or 32 || maskBits != (uint.MaxValue << (32 - prefix)))
            throw new BmcValidationException("netmask", request.Netmask!, "a contiguous IPv4 netmask from 128.0.0.0 to 255.255.255.254");
        var gateway = ParseHostAddress("gateway", request.Gateway);
        if ((ToUInt32(gateway) & maskBits) != (ToUInt32(address) & maskBits))
            throw new BmcValidationException("gateway", request.Gateway!,
                $"the gateway must be inside {new IPAddress(IPAddress.HostToNetworkOrder((int)(ToUInt32(address) & maskBits)))}/{prefix}");
        if (gateway.Equals(address))
            throw new BmcValidationException("gateway", request.Gateway!, "the gateway must differ from the BMC's own address");
        return (address, netmask, gateway);
    }

    /// <summary>Validates a user slot id against the protocol's range.</summary>
    public static void ValidateUserId(int userId, int min, int max)
    {
        if (userId < min || userId > max)
            throw new BmcValidationException("user id", userId.ToString(System.Globalization.CultureInfo.InvariantCulture), $"user id must be {min}–{max}");
    }

    /// <summary>Validates a new password; the message never shows it.</summary>
    public static void ValidatePassword(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var shown = $"<{password.Length} characters>";
        foreach (var c in password)
        {
            if (c is < ' ' or > '~')
                throw new BmcValidationException("password", shown, "printable ASCII characters only (space to ~)");
        }

        var bytes = Encoding.ASCII.GetByteCount(password);
        if (bytes is < MinPasswordBytes or > MaxPasswordBytes)
            throw new BmcValidationException("password", shown, $"length must be {MinPasswordBytes}–{MaxPasswordBytes} characters");
    }

    /// <summary>Validates the Dell front LCD user string.</summary>
    public static void ValidateLcdText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > IBmcFrontLcd.MaxLength)
            throw new BmcValidationException("lcd text", text, $"at most {IBmcFrontLcd.MaxLength} characters");
        foreach (var c in text)
        {
            if (c is < ' ' or > '~')
                throw new BmcValidationException("lcd text", text, "printable ASCII characters only (space to ~)");
        }
    }

    private static IPAddress ParseIPv4(string field, string? value)
    {
        // IPAddress.TryParse accepts "1" or "1.2" as shorthand; a BMC setting must be four dotted decimals.
        if (value is null || value.Split('.').Length != 4 || !IPAddress.TryParse(value, out var ip)
            || ip.AddressFamily != AddressFamily.InterNetwork)
            throw new BmcValidationException(field, value ?? "", "a dotted IPv4 address a.b.c.d");
        return ip;
    }

    private static IPAddress ParseHostAddress(string field, string? value)
    {
        var ip = ParseIPv4(field, value);
        var first = ip.GetAddressBytes()[0];
        if (first is 0 or 127 or >= 224 || ip.Equals(IPAddress.Broadcast))
            throw new BmcValidationException(field, value!, "a unicast IPv4 address (not 0.x, 127.x, multicast or broadcast)");
        return ip;
    }

    private static uint ToUInt32(IPAddress ip)
    {
        var b = ip.GetAddressBytes();
        return (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
    }
}
