using System.Globalization;
using System.Text;
using Appliance.Core.Ports;
using Appliance.Hw.Processes;

namespace Appliance.Hw.Bmc;

/// <summary>
/// IPMI v2.0 through ipmitool: <c>-I lanplus</c> to a BMC on the network, or <c>-I open</c> for /dev/ipmi0.
/// The password goes only through the environment (<c>-E</c>, IPMI_PASSWORD); a new user password goes
/// through a 0600 temp file run with <c>exec</c>, so no secret is ever on a command line.
/// </summary>
public sealed class IpmitoolBmc : IBmc, IBmcFrontLcd
{
    /// <summary>IPMI user slots the appliance manages (slot 1 is the anonymous user on most BMCs).</summary>
    public const int MinUserId = 1, MaxUserId = 15;

    private readonly BmcOptions _options;
    private readonly ICommandRunner _runner;
    private readonly Func<string> _readPassword;
    private readonly string _target;

    /// <summary>Creates the adapter; <paramref name="readPassword"/> is called per command (rotation-friendly).</summary>
    public IpmitoolBmc(BmcOptions options, ICommandRunner runner, Func<string> readPassword)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _runner = runner;
        _readPassword = readPassword;
        _target = options.EffectiveInterface == IpmiInterface.Open
            ? "local BMC (/dev/ipmi0)"
            : $"BMC {options.Host}:{options.EffectivePort(BmcKind.Ipmi)}";
    }

    /// <inheritdoc />
    public BmcKind Kind => BmcKind.Ipmi;

    private string Channel => _options.IpmiChannel.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public async Task<BmcLanConfig> GetLanAsync(CancellationToken cancellationToken) =>
        IpmitoolOutput.ParseLan(await RunAsync(cancellationToken, "lan", "print", Channel));

    /// <inheritdoc />
    public async Task SetLanAsync(BmcLanRequest request, CancellationToken cancellationToken)
    {
        var addresses = BmcRequestValidator.ValidateLan(request);
        if (addresses is { } a)
        {
            await RunAsync(cancellationToken, "lan", "set", Channel, "ipsrc", "static");
            await RunAsync(cancellationToken, "lan", "set", Channel, "ipaddr", a.Address.ToString());
            await RunAsync(cancellationToken, "lan", "set", Channel, "netmask", a.Netmask.ToString());
            await RunAsync(cancellationToken, "lan", "set", Channel, "defgw", "ipaddr", a.Gateway.ToString());
        }
        else
        {
            await RunAsync(cancellationToken, "lan", "set", Channel, "ipsrc", "dhcp");
        }

        var vlan = request.VlanId?.ToString(CultureInfo.InvariantCulture) ?? "off";
        await RunAsync(cancellationToken, "lan", "set", Channel, "vlan", "id", vlan);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<BmcUser>> ListUsersAsync(CancellationToken cancellationToken) =>
        IpmitoolOutput.ParseUsers(await RunAsync(cancellationToken, "user", "list", Channel));

    /// <inheritdoc />
    public async Task SetPasswordAsync(int userId, string password, CancellationToken cancellationToken)
    {
        BmcRequestValidator.ValidateUserId(userId, MinUserId, MaxUserId);
        BmcRequestValidator.ValidatePassword(password);
        // ipmitool's exec tokenizer honours one quote style per token; a password holding both cannot be quoted.
        var quote = !password.Contains('"', StringComparison.Ordinal) ? '"'
            : !password.Contains('\'', StringComparison.Ordinal) ? '\''
            : throw new BmcValidationException("password", $"<{password.Length} characters>", "must not contain both ' and \" (ipmitool cannot quote it)");
        var id = userId.ToString(CultureInfo.InvariantCulture);
        var size = Encoding.ASCII.GetByteCount(password) > 16 ? "20" : "16";
        var script = Path.Combine(Path.GetTempPath(), $"appliance-ipmi-{Guid.NewGuid():N}.cmd");
        try
        {
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            await using (var file = new FileStream(script, fileOptions))
            {
                await file.WriteAsync(Encoding.ASCII.GetBytes($"user set password {id} {quote}{password}{quote} {size}\n"), cancellationToken);
            }

            await RunOperationAsync($"user set password {id}", cancellationToken, "exec", script);
        }
        finally
        {
            File.Delete(script);
        }

        await RunAsync(cancellationToken, "user", "enable", id);
    }

    /// <inheritdoc />
    public async Task<BmcControllerInfo> GetControllerInfoAsync(CancellationToken cancellationToken) =>
        IpmitoolOutput.ParseMcInfo(await RunAsync(cancellationToken, "mc", "info"));

    /// <inheritdoc />
    public async Task<BmcFru> GetFruAsync(CancellationToken cancellationToken) =>
        IpmitoolOutput.ParseFru(await RunAsync(cancellationToken, "fru", "print", "0"));

    /// <inheritdoc />
    public async Task<BmcPowerState> GetPowerStateAsync(CancellationToken cancellationToken) =>
        IpmitoolOutput.ParsePower(await RunAsync(cancellationToken, "chassis", "power", "status"));

    /// <inheritdoc />
    public Task SetPowerAsync(BmcPowerAction action, CancellationToken cancellationToken) => action switch
    {
        BmcPowerAction.On => RunAsync(cancellationToken, "chassis", "power", "on"),
        BmcPowerAction.Off => RunAsync(cancellationToken, "chassis", "power", "off"),
        BmcPowerAction.Cycle => RunAsync(cancellationToken, "chassis", "power", "cycle"),
        BmcPowerAction.Soft => RunAsync(cancellationToken, "chassis", "power", "soft"),
        _ => throw new BmcValidationException("power action", action.ToString(), "On, Off, Cycle or Soft"),
    };

    /// <inheritdoc />
    public async Task<IReadOnlyList<BmcSensor>> ReadSensorsAsync(CancellationToken cancellationToken) =>
        IpmitoolOutput.ParseSensors(await RunAsync(cancellationToken, "sensor", "list"));

    /// <inheritdoc />
    public async Task<IReadOnlyList<BmcSelEntry>> ReadEventLogAsync(CancellationToken cancellationToken) =>
        IpmitoolOutput.ParseSel(await RunAsync(cancellationToken, "sel", "elist"));

    /// <inheritdoc />
    public Task ClearEventLogAsync(CancellationToken cancellationToken) => RunAsync(cancellationToken, "sel", "clear");

    /// <summary>
    /// Dell OEM: Set System Info parameter 0xC1 (LCD string, block 0, ASCII) then 0xC2 (LCD mode = user defined;
    /// Dell BMCs only accept the mode request with its trailing zero bytes).
    /// </summary>
    public async Task SetUserStringAsync(string text, CancellationToken cancellationToken)
    {
        BmcRequestValidator.ValidateLcdText(text);
        var stringArgs = new List<string> { "raw", "0x06", "0x58", "0xc1", "0x00", "0x00", Hex((byte)text.Length) };
        stringArgs.AddRange(Encoding.ASCII.GetBytes(text).Select(Hex));
        await RunOperationAsync("raw Dell LCD string (0x06 0x58 0xc1)", cancellationToken, [.. stringArgs]);
        string[] modeArgs = ["raw", "0x06", "0x58", "0xc2", "0x00", .. Enumerable.Repeat("0x00", 12)];
        await RunOperationAsync("raw Dell LCD mode (0x06 0x58 0xc2)", cancellationToken, modeArgs);
    }

    private static string Hex(byte b) => "0x" + b.ToString("x2", CultureInfo.InvariantCulture);

    private Task<string> RunAsync(CancellationToken cancellationToken, params string[] command) =>
        RunOperationAsync(string.Join(' ', command), cancellationToken, command);

    private async Task<string> RunOperationAsync(string operation, CancellationToken cancellationToken, params string[] command)
    {
        var result = await BmcTool.RunAsync(_runner, Request([], command), operation, cancellationToken);
        if (result.ExitCode == 0)
            return result.StandardOutput;
        throw await ClassifyAsync(operation, result, cancellationToken);
    }

    private CommandSpec Request(string[] extraFlags, string[] command)
    {
        var args = new List<string>();
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (_options.EffectiveInterface == IpmiInterface.Open)
        {
            args.AddRange(["-I", "open"]);
        }
        else
        {
            // -N 1 -R 1: one-second retransmit, one retry, so an unreachable BMC fails in ~2 s (ipmitool defaults: ~20 s).
            args.AddRange(["-I", "lanplus", "-H", _options.Host!, "-p", _options.EffectivePort(BmcKind.Ipmi).ToString(CultureInfo.InvariantCulture),
                "-U", _options.User!, "-E", "-C", _options.CipherSuite.ToString(CultureInfo.InvariantCulture), "-N", "1", "-R", "1"]);
            env["IPMI_PASSWORD"] = _readPassword();
        }

        args.AddRange(extraFlags);
        args.AddRange(command);
        return BmcTool.Spec(_options.IpmitoolPath, args, env, _options.CommandTimeout);
    }

    private async Task<BmcException> ClassifyAsync(string operation, CommandOutcome result, CancellationToken cancellationToken)
    {
        var error = (result.StandardError + "\n" + result.StandardOutput).Trim();
        var first = IpmitoolOutput.FirstLine(error);
        if (Has(error, "Unable to establish") || Has(error, "Error: Unable to establish"))
        {
            // The plain message is the same for a wrong password and for silence; -v names the RAKP step that failed.
            var probe = await BmcTool.RunAsync(_runner, Request(["-v"], ["raw", "0x06", "0x01"]), "session probe", cancellationToken);
            var detail = probe.StandardError;
            if (Has(detail, "RAKP") || Has(detail, "unauthorized name") || Has(detail, "invalid") && Has(detail, "HMAC"))
                return new BmcException(BmcErrorKind.AuthenticationFailed,
                    $"{_target} rejected user '{_options.User}' (wrong user name or password) during {operation}");
            return new BmcException(BmcErrorKind.Unreachable, $"{_target} does not answer IPMI (RMCP+) during {operation}");
        }

        if (Has(error, "Could not open device"))
            return new BmcException(BmcErrorKind.Unreachable, $"{_target} is not available: {first}");
        if (Has(error, "Insufficient privilege"))
            return new BmcException(BmcErrorKind.Rejected, $"{_target} refused {operation}: insufficient privilege for user '{_options.User}'");
        return new BmcException(BmcErrorKind.Rejected, $"{_target} failed {operation}: {(first.Length > 0 ? first : $"exit code {result.ExitCode}")}");
    }

    private static bool Has(string text, string part) => text.Contains(part, StringComparison.OrdinalIgnoreCase);
}
