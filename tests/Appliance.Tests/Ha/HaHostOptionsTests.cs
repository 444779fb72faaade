using Appliance.Agent.Ha;
using Microsoft.Extensions.Configuration;

namespace Appliance.Tests.Ha;

public sealed class HaHostOptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        Assert.Empty(new ManagedServicesOptions().Validate());
        Assert.Empty(new HooksOptions().Validate());
        Assert.Empty(new ConnectivityProbeOptions().Validate());
    }

    [Fact]
    public void A_full_systemd_configuration_is_valid()
    {
        var options = new ManagedServicesOptions
        {
            Kind = ManagedServicesKind.Systemd,
            Units = ["postgresql@16-main.service", "app\\x2dweb.service", "workers.target", "api.socket", "getty:tty1.service"],
        };

        Assert.Empty(options.Validate());
    }

    public static TheoryData<string, string> BadServices => new()
    {
        { "Kind=7", "Appliance:Ha:Services:Kind=7 is not allowed: allowed None | Systemd | Windows" },
        { "Unit=app", "Appliance:Ha:Services:Units:0='app' is not a systemd unit name: allowed" },
        { "Unit=app.timer", "Appliance:Ha:Services:Units:0='app.timer' is not a systemd unit name" },
        { "Unit=a b.service", "Appliance:Ha:Services:Units:0='a b.service' is not a systemd unit name" },
        { "Unit=../x.service", "Appliance:Ha:Services:Units:0='../x.service' is not a systemd unit name" },
        { "Duplicate", "Appliance:Ha:Services:Units:1='db.service' is a duplicate: each unit may appear once" },
        { "TooMany", "Appliance:Ha:Services:Units has 33 entries: allowed 0 – 32" },
        { "NoneWithUnits", "Appliance:Ha:Services:Units has 1 entries but Kind=None" },
        { "WindowsSlash", "Appliance:Ha:Services:Units:0='a/b' is not a Windows service name" },
        { "DropInDirectory", "Appliance:Ha:Services:DropInDirectory='run/systemd' is not an absolute path" },
        { "SystemctlPath", "Appliance:Ha:Services:SystemctlPath='systemctl' is not an absolute path" },
        { "StopListPath", "Appliance:Ha:Services:StopListPath='managed-units' is not an absolute path" },
        { "AgentUnit", "Appliance:Ha:Services:AgentUnit='agent' is not a systemd unit name" },
        { "AgentManaged", "Appliance:Ha:Services:Units contains AgentUnit 'appliance-agent.service': the agent cannot manage itself" },
        { "StartTimeout", "Appliance:Ha:Services:StartTimeout=00:00:00.5000000 is out of range: allowed 00:00:01 – 00:10:00" },
        { "StopTimeout", "Appliance:Ha:Services:StopTimeout=00:10:01 is out of range: allowed 00:00:01 – 00:10:00" },
        { "StrayCheckLow", "Appliance:Ha:Services:StrayCheckInterval=00:00:00.9000000 is out of range: allowed 00:00:01 – 01:00:00" },
        { "StrayCheckHigh", "Appliance:Ha:Services:StrayCheckInterval=01:00:01 is out of range: allowed 00:00:01 – 01:00:00" },
    };

    [Theory]
    [MemberData(nameof(BadServices))]
    public void Bad_service_options_name_key_value_and_range(string change, string expected)
    {
        var options = new ManagedServicesOptions { Kind = ManagedServicesKind.Systemd };
        switch (change)
        {
            case "Kind=7": options.Kind = (ManagedServicesKind)7; break;
            case "Unit=app": options.Units.Add("app"); break;
            case "Unit=app.timer": options.Units.Add("app.timer"); break;
            case "Unit=a b.service": options.Units.Add("a b.service"); break;
            case "Unit=../x.service": options.Units.Add("../x.service"); break;
            case "Duplicate": options.Units.Add("db.service"); options.Units.Add("db.service"); break;
            case "TooMany":
                foreach (int i in Enumerable.Range(0, 33))
                {
                    options.Units.Add($"u{i}.service");
                }

                break;
            case "NoneWithUnits": options.Kind = ManagedServicesKind.None; options.Units.Add("db.service"); break;
            case "WindowsSlash": options.Kind = ManagedServicesKind.Windows; options.Units.Add("a/b"); break;
            case "DropInDirectory": options.DropInDirectory = "run/systemd"; break;
            case "SystemctlPath": options.SystemctlPath = "systemctl"; break;
            case "StopListPath": options.StopListPath = "managed-units"; break;
            case "AgentUnit": options.AgentUnit = "agent"; break;
            case "AgentManaged": options.Units.Add("appliance-agent.service"); break;
            case "StartTimeout": options.StartTimeout = TimeSpan.FromMilliseconds(500); break;
            case "StopTimeout": options.StopTimeout = TimeSpan.FromSeconds(601); break;
            case "StrayCheckLow": options.StrayCheckInterval = TimeSpan.FromMilliseconds(900); break;
            case "StrayCheckHigh": options.StrayCheckInterval = TimeSpan.FromSeconds(3601); break;
            default: throw new ArgumentOutOfRangeException(nameof(change), change, null);
        }

        Assert.Contains(options.Validate(), e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    public static TheoryData<string, string> BadHooks => new()
    {
        { "RelativePath", "Appliance:Ha:Hooks:OnActive:Path='dns-swing' is not an absolute path" },
        { "EmptyPath", "Appliance:Ha:Hooks:Notify:Path='' is not an absolute path" },
        { "TooManyArguments", "Appliance:Ha:Hooks:OnPassive:Arguments has 33 entries: allowed 0 – 32" },
        { "NulArgument", "Appliance:Ha:Hooks:OnOff:Arguments:0 is invalid (3 characters): allowed 0 – 4096 characters without NUL" },
        { "LongArgument", "Appliance:Ha:Hooks:OnConflict:Arguments:0 is invalid (4097 characters)" },
        { "PendingPath", "Appliance:Ha:Hooks:OnFailoverPending:Path='x' is not an absolute path" },
        { "TimeoutLow", "Appliance:Ha:Hooks:Timeout=00:00:00.9990000 is out of range: allowed 00:00:01 – 00:10:00" },
        { "TimeoutHigh", "Appliance:Ha:Hooks:Timeout=00:10:00.0010000 is out of range" },
        { "OutputLow", "Appliance:Ha:Hooks:OutputLimitKb=0 is out of range: allowed 1 – 1024" },
        { "OutputHigh", "Appliance:Ha:Hooks:OutputLimitKb=1025 is out of range: allowed 1 – 1024" },
    };

    [Theory]
    [MemberData(nameof(BadHooks))]
    public void Bad_hook_options_name_key_value_and_range(string change, string expected)
    {
        var options = new HooksOptions();
        switch (change)
        {
            case "RelativePath": options.OnActive = new HookCommand { Path = "dns-swing" }; break;
            case "EmptyPath": options.Notify = new HookCommand(); break;
            case "TooManyArguments": options.OnPassive = new HookCommand { Path = "/bin/true", Arguments = [.. Enumerable.Repeat("x", 33)] }; break;
            case "NulArgument": options.OnOff = new HookCommand { Path = "/bin/true", Arguments = ["a\0b"] }; break;
            case "LongArgument": options.OnConflict = new HookCommand { Path = "/bin/true", Arguments = [new string('x', 4097)] }; break;
            case "PendingPath": options.OnFailoverPending = new HookCommand { Path = "x" }; break;
            case "TimeoutLow": options.Timeout = TimeSpan.FromMilliseconds(999); break;
            case "TimeoutHigh": options.Timeout = TimeSpan.FromMinutes(10) + TimeSpan.FromMilliseconds(1); break;
            case "OutputLow": options.OutputLimitKb = 0; break;
            case "OutputHigh": options.OutputLimitKb = 1025; break;
            default: throw new ArgumentOutOfRangeException(nameof(change), change, null);
        }

        Assert.Contains(options.Validate(), e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("RebootPath", "Appliance:Ha:Power:Reboot:Path='systemctl' is not an absolute path: allowed an absolute path to an executable")]
    [InlineData("PowerOffArgument", "Appliance:Ha:Power:PowerOff:Arguments:0 is invalid (3 characters): allowed 0 – 4096 characters without NUL")]
    [InlineData("TimeoutLow", "Appliance:Ha:Power:Timeout=00:00:00.9990000 is out of range: allowed 00:00:01 – 00:10:00")]
    public void Bad_power_options_name_key_value_and_range(string change, string expected)
    {
        Assert.Empty(new PowerOptions().Validate()); // unset: announce only
        var options = new PowerOptions();
        switch (change)
        {
            case "RebootPath": options.Reboot = new HookCommand { Path = "systemctl", Arguments = ["reboot"] }; break;
            case "PowerOffArgument": options.PowerOff = new HookCommand { Path = "/usr/bin/systemctl", Arguments = ["a\0b"] }; break;
            case "TimeoutLow": options.Timeout = TimeSpan.FromMilliseconds(999); break;
            default: throw new ArgumentOutOfRangeException(nameof(change), change, null);
        }

        Assert.Equal([expected], options.Validate());
    }

    [Theory]
    [InlineData(99, "Appliance:Ha:Probe:Timeout=00:00:00.0990000 is out of range: allowed 00:00:00.1000000 – 00:00:30")]
    [InlineData(30_001, "Appliance:Ha:Probe:Timeout=00:00:30.0010000 is out of range: allowed 00:00:00.1000000 – 00:00:30")]
    public void Bad_probe_timeout_names_key_value_and_range(int milliseconds, string expected) =>
        Assert.Equal([expected], new ConnectivityProbeOptions { Timeout = TimeSpan.FromMilliseconds(milliseconds) }.Validate());

    [Fact]
    public void Options_bind_from_configuration_keys()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Appliance:Ha:Services:Kind"] = "Systemd",
            ["Appliance:Ha:Services:Units:0"] = "db.service",
            ["Appliance:Ha:Services:Units:1"] = "app.service",
            ["Appliance:Ha:Services:StartTimeout"] = "00:02:00",
            ["Appliance:Ha:Hooks:OnActive:Path"] = "/usr/local/sbin/dns-swing",
            ["Appliance:Ha:Hooks:OnActive:Arguments:0"] = "--zone",
            ["Appliance:Ha:Hooks:Timeout"] = "00:00:45",
            ["Appliance:Ha:Probe:Timeout"] = "00:00:01",
        }).Build();

        var services = new ManagedServicesOptions();
        configuration.GetSection(ManagedServicesOptions.Section).Bind(services);
        var hooks = new HooksOptions();
        configuration.GetSection(HooksOptions.Section).Bind(hooks);
        var probe = new ConnectivityProbeOptions();
        configuration.GetSection(ConnectivityProbeOptions.Section).Bind(probe);

        Assert.Equal(ManagedServicesKind.Systemd, services.Kind);
        Assert.Equal(["db.service", "app.service"], services.Units);
        Assert.Equal(TimeSpan.FromMinutes(2), services.StartTimeout);
        Assert.Equal("/usr/local/sbin/dns-swing", hooks.OnActive?.Path);
        Assert.Equal(["--zone"], hooks.OnActive?.Arguments);
        Assert.Equal(TimeSpan.FromSeconds(45), hooks.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(1), probe.Timeout);
    }
}
