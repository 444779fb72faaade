using System.Globalization;
using System.Text.RegularExpressions;
using Appliance.Core.Ports;
using Appliance.Hw.Processes;

namespace Appliance.Hw.Bmc;

/// <summary>
/// Dell racadm, local (in-band) only: remote racadm needs the password on its command line, which the
/// appliance never does, so a remote iDRAC is driven through Redfish instead. For the same reason
/// setting a user password is refused here.
/// </summary>
public sealed partial class RacadmBmc(BmcOptions options, ICommandRunner runner) : IBmc, IBmcFrontLcd
{
    /// <inheritdoc />
    public BmcKind Kind => BmcKind.Racadm;

    /// <inheritdoc />
    public async Task<BmcLanConfig> GetLanAsync(CancellationToken cancellationToken)
    {
        var ipv4 = KeyValues(await RunAsync(cancellationToken, "get", "iDRAC.IPv4"), '=');
        var nic = KeyValues(await RunAsync(cancellationToken, "get", "iDRAC.NIC"), '=');
        var vlanOn = string.Equals(nic.GetValueOrDefault("VLanEnable"), "Enabled", StringComparison.OrdinalIgnoreCase);
        return new BmcLanConfig(
            string.Equals(ipv4.GetValueOrDefault("DHCPEnable"), "Enabled", StringComparison.OrdinalIgnoreCase) ? BmcIpSource.Dhcp : BmcIpSource.Static,
            Required(ipv4, "Address", "get iDRAC.IPv4"), Required(ipv4, "Netmask", "get iDRAC.IPv4"), ipv4.GetValueOrDefault("Gateway", ""),
            vlanOn && int.TryParse(nic.GetValueOrDefault("VLanID"), CultureInfo.InvariantCulture, out var id) ? id : null,
            nic.GetValueOrDefault("MACAddress"));
    }

    /// <inheritdoc />
    public async Task SetLanAsync(BmcLanRequest request, CancellationToken cancellationToken)
    {
        var addresses = BmcRequestValidator.ValidateLan(request);
        if (addresses is { } a)
            await RunAsync(cancellationToken, "setniccfg", "-s", a.Address.ToString(), a.Netmask.ToString(), a.Gateway.ToString());
        else
            await RunAsync(cancellationToken, "setniccfg", "-d");
        if (request.VlanId is { } vlan)
        {
            await RunAsync(cancellationToken, "set", "iDRAC.NIC.VLanID", vlan.ToString(CultureInfo.InvariantCulture));
            await RunAsync(cancellationToken, "set", "iDRAC.NIC.VLanEnable", "Enabled");
        }
        else
        {
            await RunAsync(cancellationToken, "set", "iDRAC.NIC.VLanEnable", "Disabled");
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<BmcUser>> ListUsersAsync(CancellationToken cancellationToken)
    {
        var users = new List<BmcUser>();
        for (var id = RedfishBmc.MinUserId; id <= RedfishBmc.MaxUserId; id++)
        {
            var kv = KeyValues(await RunAsync(cancellationToken, "get", $"iDRAC.Users.{id.ToString(CultureInfo.InvariantCulture)}"), '=');
            users.Add(new BmcUser(id, kv.GetValueOrDefault("UserName", ""),
                string.Equals(kv.GetValueOrDefault("Enable"), "Enabled", StringComparison.OrdinalIgnoreCase), kv.GetValueOrDefault("Privilege", "")));
        }

        return users;
    }

    /// <inheritdoc />
    public Task SetPasswordAsync(int userId, string password, CancellationToken cancellationToken)
    {
        BmcRequestValidator.ValidateUserId(userId, RedfishBmc.MinUserId, RedfishBmc.MaxUserId);
        BmcRequestValidator.ValidatePassword(password);
        throw new BmcException(BmcErrorKind.Unsupported,
            "racadm takes a new password only on its command line (visible to every local process); set it through Redfish or IPMI");
    }

    /// <inheritdoc />
    public async Task<BmcControllerInfo> GetControllerInfoAsync(CancellationToken cancellationToken)
    {
        var kv = KeyValues(await RunAsync(cancellationToken, "getsysinfo"), '=');
        return new BmcControllerInfo(Required(kv, "Firmware Version", "getsysinfo"), kv.GetValueOrDefault("System Manufacturer", ""), null, null);
    }

    /// <inheritdoc />
    public async Task<BmcFru> GetFruAsync(CancellationToken cancellationToken)
    {
        var kv = KeyValues(await RunAsync(cancellationToken, "getsysinfo"), '=');
        return new BmcFru(kv.GetValueOrDefault("Service Tag"), kv.GetValueOrDefault("Board Serial Number") ?? kv.GetValueOrDefault("Chassis Service Tag"),
            kv.GetValueOrDefault("System Model"), kv.GetValueOrDefault("System Manufacturer"));
    }

    /// <inheritdoc />
    public async Task<BmcPowerState> GetPowerStateAsync(CancellationToken cancellationToken)
    {
        var m = PowerStatus().Match(await RunAsync(cancellationToken, "serveraction", "powerstatus"));
        return m.Success
            ? m.Groups[1].Value.Equals("ON", StringComparison.OrdinalIgnoreCase) ? BmcPowerState.On : BmcPowerState.Off
            : throw new BmcException(BmcErrorKind.InvalidResponse, "racadm serveraction powerstatus: no 'Server power status' line");
    }

    /// <inheritdoc />
    public Task SetPowerAsync(BmcPowerAction action, CancellationToken cancellationToken) => action switch
    {
        BmcPowerAction.On => RunAsync(cancellationToken, "serveraction", "powerup"),
        BmcPowerAction.Off => RunAsync(cancellationToken, "serveraction", "powerdown"),
        BmcPowerAction.Cycle => RunAsync(cancellationToken, "serveraction", "powercycle"),
        BmcPowerAction.Soft => RunAsync(cancellationToken, "serveraction", "graceshutdown"),
        _ => throw new BmcValidationException("power action", action.ToString(), "On, Off, Cycle or Soft"),
    };

    /// <summary><c>racadm getsensorinfo</c> rows: name, status, reading, then thresholds (e.g. "21C", "2040 RPM", "[N/A]").</summary>
    public async Task<IReadOnlyList<BmcSensor>> ReadSensorsAsync(CancellationToken cancellationToken)
    {
        var sensors = new List<BmcSensor>();
        foreach (Match m in SensorRow().Matches(await RunAsync(cancellationToken, "getsensorinfo")))
        {
            var (reading, unit) = Reading(m.Groups["reading"].Value);
            var status = m.Groups["status"].Value.ToLowerInvariant() switch
            {
                "ok" => BmcSensorStatus.Ok,
                "warning" or "non-critical" => BmcSensorStatus.NonCritical,
                "critical" or "failed" => BmcSensorStatus.Critical,
                _ => BmcSensorStatus.NotAvailable,
            };
            var lc = Reading(m.Groups["lc"].Value).Value;
            var uc = Reading(m.Groups["uc"].Value).Value;
            sensors.Add(new BmcSensor(m.Groups["name"].Value.Trim(), reading, unit, status, new BmcThresholds(null, lc, null, null, uc, null)));
        }

        return sensors;
    }

    /// <summary><c>racadm getsel</c> records ("Record:", "Date/Time:", "Severity:", "Description:").</summary>
    public async Task<IReadOnlyList<BmcSelEntry>> ReadEventLogAsync(CancellationToken cancellationToken)
    {
        var text = await RunAsync(cancellationToken, "getsel");
        var entries = new List<BmcSelEntry>();
        foreach (var block in text.Split("-------", StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = KeyValues(block, ':');
            if (!kv.TryGetValue("Record", out var id))
                continue;
            var severity = kv.GetValueOrDefault("Severity", "").ToLowerInvariant() switch
            {
                "ok" => BmcLogSeverity.Ok,
                "non-critical" or "warning" => BmcLogSeverity.Warning,
                "critical" => BmcLogSeverity.Critical,
                _ => BmcLogSeverity.Unstated,
            };
            var description = kv.GetValueOrDefault("Description", "");
            entries.Add(new BmcSelEntry(id, kv.GetValueOrDefault("Date/Time", ""), kv.GetValueOrDefault("Source", ""), description,
                !description.Contains("deasserted", StringComparison.OrdinalIgnoreCase) && !description.Contains("returned to", StringComparison.OrdinalIgnoreCase),
                severity));
        }

        return entries;
    }

    /// <inheritdoc />
    public Task ClearEventLogAsync(CancellationToken cancellationToken) => RunAsync(cancellationToken, "clrsel");

    /// <summary>Dell System.LCD attributes.</summary>
    public async Task SetUserStringAsync(string text, CancellationToken cancellationToken)
    {
        BmcRequestValidator.ValidateLcdText(text);
        await RunAsync(cancellationToken, "set", "System.LCD.Configuration", "User Defined");
        await RunAsync(cancellationToken, "set", "System.LCD.UserDefinedString", text);
    }

    private async Task<string> RunAsync(CancellationToken cancellationToken, params string[] args)
    {
        var operation = string.Join(' ', args);
        var result = await BmcTool.RunAsync(runner, BmcTool.Spec(options.RacadmPath, args, new Dictionary<string, string?>(), options.CommandTimeout),
            operation, cancellationToken);
        var output = result.StandardOutput;
        // racadm often exits 0 with "ERROR: …" on stdout.
        var errorLine = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("ERROR", StringComparison.OrdinalIgnoreCase));
        if (result.ExitCode == 0 && errorLine is null)
            return output;
        var detail = errorLine ?? IpmitoolOutput.FirstLine(result.StandardError + "\n" + output);
        var kind = detail.Contains("Unable to connect", StringComparison.OrdinalIgnoreCase) || detail.Contains("not available", StringComparison.OrdinalIgnoreCase)
            ? BmcErrorKind.Unreachable : BmcErrorKind.Rejected;
        throw new BmcException(kind, $"local iDRAC (racadm) failed {operation}: {detail}");
    }

    private static Dictionary<string, string> KeyValues(string text, char separator)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var at = line.IndexOf(separator, StringComparison.Ordinal);
            if (at <= 0 || line.StartsWith('['))
                continue;
            // "UserName=root" or "Firmware Version        = 2.70"; "Key=iDRAC.Embedded.1#IPv4.1" headers are bracketed.
            map.TryAdd(line[..at].Trim().TrimStart('#'), line[(at + 1)..].Trim());
        }

        return map;
    }

    private static string Required(Dictionary<string, string> kv, string key, string command) =>
        kv.TryGetValue(key, out var v) ? v : throw new BmcException(BmcErrorKind.InvalidResponse, $"racadm {command}: no '{key}' in output");

    private static (double? Value, string Unit) Reading(string token)
    {
        var m = ReadingToken().Match(token);
        return m.Success ? (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value.Trim() switch
        {
            "C" => "degrees C",
            "V" => "Volts",
            "A" => "Amps",
            "W" => "Watts",
            var u => u,
        }) : (null, "");
    }

    [GeneratedRegex(@"Server power status:\s*(ON|OFF)", RegexOptions.IgnoreCase)]
    private static partial Regex PowerStatus();

    [GeneratedRegex(@"^(?<name>\S.*?)\s{2,}(?<status>Ok|Warning|Critical|Non-Critical|Failed|Unknown|N/A)\s+(?<reading>-?[\d.]+\s?(?:C|V|A|W|RPM|%)?)\s+(?<lc>\S+(?:\s?RPM)?)\s+(?<uc>\S+(?:\s?RPM)?)",
        RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex SensorRow();

    [GeneratedRegex(@"^(-?[\d.]+)\s?([A-Za-z%]*)$")]
    private static partial Regex ReadingToken();
}
