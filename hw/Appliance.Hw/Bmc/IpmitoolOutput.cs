using System.Globalization;
using System.Text.RegularExpressions;
using Appliance.Core.Ports;

namespace Appliance.Hw.Bmc;

/// <summary>Parsers for ipmitool 1.8.x text output (lan print, user list, mc info, fru print, power, sensor list, sel elist).</summary>
internal static partial class IpmitoolOutput
{
    /// <summary>"Key : value" lines; the first occurrence of a key wins; continuation lines (empty key) are skipped.</summary>
    public static Dictionary<string, string> KeyValues(string text)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in Lines(text))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
                continue;
            var key = line[..colon].Trim();
            if (key.Length > 0)
                map.TryAdd(key, line[(colon + 1)..].Trim());
        }

        return map;
    }

    public static BmcLanConfig ParseLan(string text)
    {
        var kv = KeyValues(text);
        var source = Required(kv, "IP Address Source", "lan print");
        var vlanText = kv.GetValueOrDefault("802.1q VLAN ID", "Disabled");
        int? vlan = int.TryParse(vlanText, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
        return new BmcLanConfig(
            source.Contains("DHCP", StringComparison.OrdinalIgnoreCase) ? BmcIpSource.Dhcp : BmcIpSource.Static,
            Required(kv, "IP Address", "lan print"),
            Required(kv, "Subnet Mask", "lan print"),
            kv.GetValueOrDefault("Default Gateway IP", "0.0.0.0"),
            vlan,
            kv.GetValueOrDefault("MAC Address"));
    }

    public static IReadOnlyList<BmcUser> ParseUsers(string text)
    {
        var users = new List<BmcUser>();
        foreach (var line in Lines(text))
        {
            var m = UserRow().Match(line);
            if (!m.Success)
                continue;
            users.Add(new BmcUser(
                int.Parse(m.Groups["id"].Value, CultureInfo.InvariantCulture),
                m.Groups["name"].Value.Trim(),
                // ipmitool's list has no enable flag; "IPMI Msg" is whether the slot may use IPMI messaging (log in).
                m.Groups["msg"].Value == "true",
                m.Groups["priv"].Value.Trim()));
        }

        if (users.Count == 0)
            throw new BmcException(BmcErrorKind.InvalidResponse, "user list: no user rows in ipmitool output");
        return users;
    }

    public static BmcControllerInfo ParseMcInfo(string text)
    {
        var kv = KeyValues(text);
        return new BmcControllerInfo(
            Required(kv, "Firmware Revision", "mc info"),
            kv.GetValueOrDefault("Manufacturer Name", ""),
            kv.GetValueOrDefault("Manufacturer ID"),
            kv.GetValueOrDefault("IPMI Version"));
    }

    public static BmcFru ParseFru(string text)
    {
        var kv = KeyValues(text);
        if (kv.Count == 0)
            throw new BmcException(BmcErrorKind.InvalidResponse, "fru print: no FRU fields in ipmitool output");
        // Dell stores the service tag as the product serial (chassis serial on some generations).
        return new BmcFru(
            NonEmpty(kv, "Product Serial") ?? NonEmpty(kv, "Chassis Serial"),
            NonEmpty(kv, "Board Serial"),
            NonEmpty(kv, "Product Name") ?? NonEmpty(kv, "Board Product"),
            NonEmpty(kv, "Product Manufacturer") ?? NonEmpty(kv, "Board Mfg"));
    }

    public static BmcPowerState ParsePower(string text)
    {
        var m = PowerLine().Match(text);
        if (!m.Success)
            throw new BmcException(BmcErrorKind.InvalidResponse, $"chassis power status: unexpected output '{FirstLine(text)}'");
        return m.Groups[1].Value.Equals("on", StringComparison.OrdinalIgnoreCase) ? BmcPowerState.On : BmcPowerState.Off;
    }

    /// <summary><c>sensor list</c>: name | reading | unit | status | lnr | lcr | lnc | unc | ucr | unr.</summary>
    public static IReadOnlyList<BmcSensor> ParseSensors(string text)
    {
        var sensors = new List<BmcSensor>();
        foreach (var line in Lines(text))
        {
            var f = line.Split('|').Select(s => s.Trim()).ToArray();
            if (f.Length < 4 || f[0].Length == 0)
                continue;
            var reading = Number(f[1]);
            var discrete = f[2].Equals("discrete", StringComparison.OrdinalIgnoreCase);
            var status = discrete ? BmcSensorStatus.Ok : SensorStatus(f[3]);
            if (!discrete && reading is null && status == BmcSensorStatus.Ok)
                status = BmcSensorStatus.NotAvailable;
            var thresholds = f.Length >= 10
                ? new BmcThresholds(Number(f[4]), Number(f[5]), Number(f[6]), Number(f[7]), Number(f[8]), Number(f[9]))
                : BmcThresholds.None;
            sensors.Add(new BmcSensor(f[0], discrete ? null : reading, discrete ? "" : f[2], status, thresholds));
        }

        return sensors;
    }

    /// <summary><c>sel elist</c>: id | date | time | sensor | event | Asserted/Deasserted [| detail].</summary>
    public static IReadOnlyList<BmcSelEntry> ParseSel(string text)
    {
        var entries = new List<BmcSelEntry>();
        foreach (var line in Lines(text))
        {
            var f = line.Split('|').Select(s => s.Trim()).ToArray();
            if (f.Length < 5 || !int.TryParse(f[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out _))
                continue;
            var asserted = true;
            var rest = f.Skip(4).ToList();
            var directionIndex = rest.FindIndex(s => s is "Asserted" or "Deasserted");
            if (directionIndex >= 0)
            {
                asserted = rest[directionIndex] == "Asserted";
                rest.RemoveAt(directionIndex);
            }

            entries.Add(new BmcSelEntry(f[0], $"{f[1]} {f[2]}", f[3], string.Join(" | ", rest.Where(s => s.Length > 0)),
                asserted, BmcLogSeverity.Unstated));
        }

        return entries;
    }

    /// <summary>Maps ipmitool's threshold status codes (ok, nc/unc/lnc, cr/ucr/lcr, nr/unr/lnr, na, ns).</summary>
    public static BmcSensorStatus SensorStatus(string code)
    {
        var c = code.ToLowerInvariant();
        if (c == "ok" || c.StartsWith("0x", StringComparison.Ordinal))
            return BmcSensorStatus.Ok;
        if (c.EndsWith("nr", StringComparison.Ordinal))
            return BmcSensorStatus.NonRecoverable;
        if (c.EndsWith("cr", StringComparison.Ordinal))
            return BmcSensorStatus.Critical;
        if (c.EndsWith("nc", StringComparison.Ordinal))
            return BmcSensorStatus.NonCritical;
        return BmcSensorStatus.NotAvailable;
    }

    public static string FirstLine(string text) => Lines(text).FirstOrDefault()?.Trim() ?? "";

    private static double? Number(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;

    private static string Required(Dictionary<string, string> kv, string key, string command) =>
        kv.TryGetValue(key, out var v) ? v : throw new BmcException(BmcErrorKind.InvalidResponse, $"{command}: no '{key}' in ipmitool output");

    private static string? NonEmpty(Dictionary<string, string> kv, string key) =>
        kv.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

    private static IEnumerable<string> Lines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0);

    [GeneratedRegex(@"^\s*(?<id>\d+)\s+(?<name>.*?)\s+(?<callin>true|false)\s+(?<link>true|false)\s+(?<msg>true|false)\s+(?<priv>.+?)\s*$")]
    private static partial Regex UserRow();

    [GeneratedRegex(@"Chassis Power is (on|off)", RegexOptions.IgnoreCase)]
    private static partial Regex PowerLine();
}
