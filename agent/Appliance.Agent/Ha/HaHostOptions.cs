using System.Globalization;
using System.Text.RegularExpressions;

namespace Appliance.Agent.Ha;

public enum ManagedServicesKind
{
    /// <summary>The agent controls no workload (the shared IP alone moves).</summary>
    None,
    Systemd,
    Windows,
}

/// <summary><c>Appliance:Ha:Services</c>: the workload only the Active runs.</summary>
public sealed partial class ManagedServicesOptions
{
    public const string Section = "Appliance:Ha:Services";
    public const int MaxUnits = 32;

    public ManagedServicesKind Kind { get; set; } = ManagedServicesKind.None;

    /// <summary>Started in this order on promotion, stopped in reverse on demotion.</summary>
    public IList<string> Units { get; init; } = [];

    /// <summary>Runtime unit directory for the BindsTo drop-ins (tmpfs: gone after a reboot, as it should be).</summary>
    public string DropInDirectory { get; set; } = "/run/systemd/system";

    public string SystemctlPath { get; set; } = "/usr/bin/systemctl";

    /// <summary>The units the agent's unit stops in its ExecStopPost= (read there by xargs; keep the two in step).</summary>
    public string StopListPath { get; set; } = "/run/appliance/managed-units";

    /// <summary>The agent's own unit: managed units bind to it, so they stop when the agent dies.</summary>
    public string AgentUnit { get; set; } = "appliance-agent.service";

    /// <summary>Per unit; systemd's own default start timeout is 90 s.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(90);

    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>How often a node that is not Active checks that nobody started a managed service by hand.</summary>
    public TimeSpan StrayCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>One line per invalid key: key, value and what is allowed. Empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(Kind))
        {
            errors.Add($"{Section}:Kind={Kind} is not allowed: allowed {string.Join(" | ", Enum.GetNames<ManagedServicesKind>())}");
        }

        if (Units.Count > MaxUnits)
        {
            errors.Add($"{Section}:Units has {Units.Count} entries: allowed 0 – {MaxUnits}");
        }

        if (Kind == ManagedServicesKind.None && Units.Count > 0)
        {
            errors.Add($"{Section}:Units has {Units.Count} entries but Kind=None: set Kind to Systemd or Windows, or remove the units");
        }

        for (int i = 0; i < Units.Count; i++)
        {
            string unit = Units[i];
            if (Kind == ManagedServicesKind.Systemd && !IsSystemdUnit(unit))
            {
                errors.Add($"{Section}:Units:{i}='{unit}' is not a systemd unit name: allowed {SystemdUnitRule}");
            }
            else if (Kind == ManagedServicesKind.Windows && !IsWindowsServiceName(unit))
            {
                errors.Add($"{Section}:Units:{i}='{unit}' is not a Windows service name: allowed 1 – 256 characters without '/', '\\' or control characters");
            }

            if (Units.Take(i).Contains(unit, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{Section}:Units:{i}='{unit}' is a duplicate: each unit may appear once");
            }
        }

        if (Kind == ManagedServicesKind.Systemd)
        {
            if (!Path.IsPathFullyQualified(DropInDirectory))
            {
                errors.Add($"{Section}:DropInDirectory='{DropInDirectory}' is not an absolute path: allowed an absolute directory such as /run/systemd/system");
            }

            if (!Path.IsPathFullyQualified(StopListPath))
            {
                errors.Add($"{Section}:StopListPath='{StopListPath}' is not an absolute path: allowed an absolute file path such as /run/appliance/managed-units");
            }

            if (!Path.IsPathFullyQualified(SystemctlPath))
            {
                errors.Add($"{Section}:SystemctlPath='{SystemctlPath}' is not an absolute path: allowed an absolute path to systemctl");
            }

            if (!IsSystemdUnit(AgentUnit))
            {
                errors.Add($"{Section}:AgentUnit='{AgentUnit}' is not a systemd unit name: allowed {SystemdUnitRule}");
            }
            else if (Units.Contains(AgentUnit, StringComparer.Ordinal))
            {
                errors.Add($"{Section}:Units contains AgentUnit '{AgentUnit}': the agent cannot manage itself");
            }
        }

        HaOptionChecks.Range(errors, $"{Section}:StartTimeout", StartTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        HaOptionChecks.Range(errors, $"{Section}:StopTimeout", StopTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        HaOptionChecks.Range(errors, $"{Section}:StrayCheckInterval", StrayCheckInterval, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        return errors;
    }

    public const string SystemdUnitRule = "letters, digits and : _ . \\ @ - ending in .service, .target or .socket (at most 255 characters)";

    public static bool IsSystemdUnit(string unit) => unit.Length <= 255 && SystemdUnitName().IsMatch(unit);

    private static bool IsWindowsServiceName(string name) =>
        name.Length is > 0 and <= 256 && !name.Any(c => c is '/' or '\\' || char.IsControl(c));

    [GeneratedRegex(@"^[A-Za-z0-9:_.\\@-]+\.(service|target|socket)$", RegexOptions.CultureInvariant)]
    private static partial Regex SystemdUnitName();
}

/// <summary>One hook: an executable and fixed arguments; role, epoch and cause are appended per call.</summary>
public sealed class HookCommand
{
    public const int MaxArguments = 32;
    public const int MaxArgumentLength = 4096;

    public string Path { get; set; } = "";

    public IList<string> Arguments { get; init; } = [];

    internal void Validate(List<string> errors, string key)
    {
        if (!System.IO.Path.IsPathFullyQualified(Path))
        {
            errors.Add($"{key}:Path='{Path}' is not an absolute path: allowed an absolute path to an executable");
        }

        if (Arguments.Count > MaxArguments)
        {
            errors.Add($"{key}:Arguments has {Arguments.Count} entries: allowed 0 – {MaxArguments}");
        }

        for (int i = 0; i < Arguments.Count; i++)
        {
            if (Arguments[i].Length > MaxArgumentLength || Arguments[i].Contains('\0', StringComparison.Ordinal))
            {
                errors.Add($"{key}:Arguments:{i} is invalid ({Arguments[i].Length} characters): allowed 0 – {MaxArgumentLength} characters without NUL");
            }
        }
    }
}

/// <summary><c>Appliance:Ha:Hooks</c>: site-specific commands per transition (DNS swing, NAT swing …).</summary>
public sealed class HooksOptions
{
    public const string Section = "Appliance:Ha:Hooks";

    public HookCommand? OnActive { get; set; }

    public HookCommand? OnPassive { get; set; }

    public HookCommand? OnOff { get; set; }

    public HookCommand? OnFailoverPending { get; set; }

    public HookCommand? OnConflict { get; set; }

    /// <summary>keepalived's generic notify: runs after the specific hook for every trigger.</summary>
    public HookCommand? Notify { get; set; }

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The first N KiB of stdout and of stderr kept in the result.</summary>
    public int OutputLimitKb { get; set; } = 16;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        OnActive?.Validate(errors, $"{Section}:{nameof(OnActive)}");
        OnPassive?.Validate(errors, $"{Section}:{nameof(OnPassive)}");
        OnOff?.Validate(errors, $"{Section}:{nameof(OnOff)}");
        OnFailoverPending?.Validate(errors, $"{Section}:{nameof(OnFailoverPending)}");
        OnConflict?.Validate(errors, $"{Section}:{nameof(OnConflict)}");
        Notify?.Validate(errors, $"{Section}:{nameof(Notify)}");
        HaOptionChecks.Range(errors, $"{Section}:Timeout", Timeout, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        if (OutputLimitKb is < 1 or > 1024)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{Section}:OutputLimitKb={OutputLimitKb} is out of range: allowed 1 – 1024"));
        }

        return errors;
    }
}

/// <summary><c>Appliance:Ha:Probe</c>: the connectivity test's per-target bound.</summary>
public sealed class ConnectivityProbeOptions
{
    public const string Section = "Appliance:Ha:Probe";

    /// <summary>Name resolution plus the echo or connect must finish within this.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        HaOptionChecks.Range(errors, $"{Section}:Timeout", Timeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30));
        return errors;
    }
}

internal static class HaOptionChecks
{
    public static void Range(List<string> errors, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{key}={value} is out of range: allowed {min} – {max}"));
        }
    }
}
