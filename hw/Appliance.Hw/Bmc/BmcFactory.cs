using Appliance.Core.Ports;
using Appliance.Hw.Processes;

namespace Appliance.Hw.Bmc;

/// <summary>Builds the BMC adapter the options ask for.</summary>
public static class BmcFactory
{
    /// <summary>The in-band IPMI device; its presence selects IPMI when no kind is configured.</summary>
    public const string LocalIpmiDevice = "/dev/ipmi0";

    /// <summary>
    /// Validates <paramref name="options"/> and returns the adapter, or null for <see cref="BmcKind.None"/>.
    /// Redfish adapters own an HttpClient: dispose the result when it is <see cref="IDisposable"/>.
    /// </summary>
    public static IBmc? Create(BmcOptions options, ICommandRunner? runner = null, TimeProvider? timeProvider = null,
        string section = "Appliance:Bmc", Func<bool>? localDevicePresent = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid(section);
        runner ??= new ProcessCommandRunner(timeProvider ?? TimeProvider.System);
        var kind = options.EffectiveKind(localDevicePresent ?? (() => File.Exists(LocalIpmiDevice)));
        var password = PasswordReader(options, section);
        return kind switch
        {
            BmcKind.None => null,
            BmcKind.Ipmi => new IpmitoolBmc(options, runner, password),
            BmcKind.Redfish => new RedfishBmc(options, password),
            BmcKind.Racadm => new RacadmBmc(options, runner),
            _ => throw new InvalidOperationException($"{section}:Kind '{kind}' is invalid: Ipmi, Redfish, Racadm or None"),
        };
    }

    /// <summary>Builds the peer fencer from <c>Appliance:Ha:Fencing</c>; null when fencing is disabled.</summary>
    public static IPeerFencer? CreateFencer(FencingOptions options, ICommandRunner? runner = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
            return null;
        var errors = options.Validate();
        if (errors.Count > 0)
            throw new InvalidOperationException("Invalid fencing configuration: " + string.Join("; ", errors));
        var bmc = Create(options.Bmc, runner, timeProvider, "Appliance:Ha:Fencing:Bmc")
            ?? throw new InvalidOperationException("Appliance:Ha:Fencing:Bmc:Kind is None: the peer's BMC is required");
        return new BmcFencer(bmc, options, timeProvider ?? TimeProvider.System);
    }

    /// <summary>Reads the password file on every use, so a rotated password applies without a restart.</summary>
    internal static Func<string> PasswordReader(BmcOptions options, string section)
    {
        var path = options.PasswordFile;
        return () =>
        {
            if (string.IsNullOrWhiteSpace(path))
                return "";
            try
            {
                var text = File.ReadAllText(path);
                var newline = text.IndexOfAny(['\r', '\n']);
                return newline >= 0 ? text[..newline] : text;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new BmcException(BmcErrorKind.AuthenticationFailed, $"{section}:PasswordFile '{path}' cannot be read: {ex.Message}", ex);
            }
        };
    }
}
