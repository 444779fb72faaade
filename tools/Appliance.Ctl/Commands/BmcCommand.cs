using System.CommandLine;
using System.Globalization;
using System.Text;
using Appliance.Core.Api;
using Appliance.Core.Ports;

namespace Appliance.Ctl.Commands;

/// <summary><c>appliancectl bmc …</c>: this appliance's BMC (iDRAC / IPMI) and a dry check of the peer's fencing BMC.</summary>
public static class BmcCommand
{
    public static Command Create() => new("bmc", "The server's BMC (iDRAC / IPMI): identity, network, users, power, sensors, event log")
    {
        Info(),
        new Command("net", "The BMC's own network settings") { NetShow(), NetSet() },
        new Command("user", "BMC user slots") { SetPassword() },
        Power(),
        Sensors(),
        Sel(),
        FenceTest(),
    };

    private static Command Info()
    {
        var command = new Command("info", "Service tag, serial, model and BMC firmware") { CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var info = await client.GetAsync("api/v1/bmc/info", ApiJsonContext.Default.BmcInfo, token).ConfigureAwait(false);
            if (parse.GetValue(CtlCommand.Json))
            {
                CtlCommand.WriteJson(info, ApiJsonContext.Default.BmcInfo);
                return ExitCodes.Ok;
            }

            var (mc, fru) = (info.Controller, info.Fru);
            Console.Out.Write(TextTable.RenderPairs([
                ("Service tag", fru.ServiceTag ?? "-"),
                ("Serial number", fru.SerialNumber ?? "-"),
                ("Product", fru.ProductName ?? "-"),
                ("Manufacturer", fru.Manufacturer ?? "-"),
                ("BMC protocol", info.Kind.ToString()),
                ("BMC firmware", mc.FirmwareVersion),
                ("BMC vendor", mc.ManufacturerId is { } id ? $"{mc.Manufacturer} (IANA {id})" : mc.Manufacturer),
                ("IPMI version", mc.IpmiVersion ?? "-"),
            ]));
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command NetShow()
    {
        var command = new Command("show", "Address source, address, netmask, gateway, VLAN and MAC") { CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
            PrintLan(parse, await client.GetAsync("api/v1/bmc/net", ApiJsonContext.Default.BmcLanConfig, token).ConfigureAwait(false)), ct));
        return command;
    }

    private static Command NetSet()
    {
        var dhcp = new Option<bool>("--dhcp") { Description = "Lease the address from DHCP" };
        var ip = new Option<string?>("--ip") { Description = "Static IPv4 address (with --netmask and --gateway)" };
        var netmask = new Option<string?>("--netmask") { Description = "Static netmask, e.g. 255.255.255.0" };
        var gateway = new Option<string?>("--gateway") { Description = "Static default gateway (inside the subnet)" };
        var vlan = new Option<string?>("--vlan") { Description = "802.1Q VLAN id 1-4094, or 'off'; omitted keeps the current VLAN" };
        var command = new Command("set", "Change the BMC's network settings (validated before anything is sent)")
        {
            dhcp, ip, netmask, gateway, vlan, CtlCommand.Json,
        };
        command.Validators.Add(result =>
        {
            var isStatic = result.GetValue(ip) is not null || result.GetValue(netmask) is not null || result.GetValue(gateway) is not null;
            if (result.GetValue(dhcp) == isStatic)
            {
                result.AddError("give either --dhcp, or --ip, --netmask and --gateway");
            }
            else if (isStatic && (result.GetValue(ip) is null || result.GetValue(netmask) is null || result.GetValue(gateway) is null))
            {
                result.AddError("a static address needs all of --ip, --netmask and --gateway");
            }

            if (result.GetValue(vlan) is { } v && !string.Equals(v, "off", StringComparison.OrdinalIgnoreCase)
                && !int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                result.AddError($"--vlan '{v}' is not a number or 'off'");
            }
        });
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            // The range (1-4094) is the agent's to check, so the CLI and the API refuse the same values with the same words.
            var vlanId = parse.GetValue(vlan) switch
            {
                null => (await client.GetAsync("api/v1/bmc/net", ApiJsonContext.Default.BmcLanConfig, token).ConfigureAwait(false)).VlanId,
                var v when string.Equals(v, "off", StringComparison.OrdinalIgnoreCase) => null,
                var v => int.Parse(v, NumberStyles.None, CultureInfo.InvariantCulture),
            };
            var request = parse.GetValue(dhcp)
                ? BmcLanRequest.Dhcp(vlanId)
                : BmcLanRequest.Static(parse.GetValue(ip)!, parse.GetValue(netmask)!, parse.GetValue(gateway)!, vlanId);
            var applied = await client.PutAsync("api/v1/bmc/net", request, ApiJsonContext.Default.BmcLanRequest, ApiJsonContext.Default.BmcLanConfig, token).ConfigureAwait(false);
            return PrintLan(parse, applied);
        }, ct));
        return command;
    }

    private static int PrintLan(ParseResult parse, BmcLanConfig lan)
    {
        if (parse.GetValue(CtlCommand.Json))
        {
            CtlCommand.WriteJson(lan, ApiJsonContext.Default.BmcLanConfig);
            return ExitCodes.Ok;
        }

        Console.Out.Write(TextTable.RenderPairs([
            ("IP source", lan.IpSource == BmcIpSource.Dhcp ? "DHCP" : "static"),
            ("Address", lan.Address),
            ("Netmask", lan.Netmask),
            ("Gateway", lan.Gateway),
            ("VLAN", lan.VlanId?.ToString(CultureInfo.InvariantCulture) ?? "off"),
            ("MAC", lan.MacAddress ?? "-"),
        ]));
        return ExitCodes.Ok;
    }

    private static Command SetPassword()
    {
        var id = new Option<int>("--id") { Description = "User slot (IPMI 1-15, iDRAC 2-16)", Required = true };
        var command = new Command("set-password", "Set a user's password, read from stdin (prompted without echo on a terminal), and enable the user") { id };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            // Never argv: a command line is visible to every local user in /proc and lands in shell history.
            var password = ReadPassword();
            var path = string.Create(CultureInfo.InvariantCulture, $"api/v1/bmc/users/{parse.GetValue(id)}/password");
            var done = await client.PostAsync(path, new BmcPasswordRequest(password), ApiJsonContext.Default.BmcPasswordRequest, ApiJsonContext.Default.BmcDone, token).ConfigureAwait(false);
            Console.Out.WriteLine(done.Message);
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static string ReadPassword()
    {
        if (Console.IsInputRedirected)
        {
            return Console.In.ReadLine() is { Length: > 0 } line
                ? line
                : throw new AgentCommandException("no password on stdin: pipe it in or run on a terminal to be prompted");
        }

        var first = ReadHidden("New BMC password: ");
        var second = ReadHidden("Repeat the password: ");
        return first == second ? first : throw new AgentCommandException("the two passwords differ: nothing changed");
    }

    private static string ReadHidden(string prompt)
    {
        Console.Error.Write(prompt);
        var text = new StringBuilder();
        while (Console.ReadKey(intercept: true) is var key && key.Key != ConsoleKey.Enter)
        {
            if (key.Key == ConsoleKey.Backspace)
            {
                text.Length = Math.Max(0, text.Length - 1);
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return text.ToString();
    }

    private static Command Power()
    {
        var power = new Command("power", "Chassis power of this server (through its BMC)");
        var status = new Command("status", "Is the server powered on?") { CtlCommand.Json };
        status.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
            PrintPower(parse, await client.GetAsync("api/v1/bmc/power", ApiJsonContext.Default.BmcPowerStatus, token).ConfigureAwait(false), null), ct));
        power.Add(status);
        foreach (var (name, description) in new[]
        {
            ("on", "Power on"),
            ("off", "Hard power off (this server stops at once, the agent with it)"),
            ("cycle", "Hard power off, then on"),
            ("soft", "Ask the operating system to shut down (ACPI)"),
        })
        {
            var action = new Command(name, description) { CtlCommand.Json };
            action.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
                PrintPower(parse, await client.SendAsync(HttpMethod.Post, $"api/v1/bmc/power/{name}", ApiJsonContext.Default.BmcPowerStatus, token).ConfigureAwait(false), name), ct));
            power.Add(action);
        }

        return power;
    }

    private static int PrintPower(ParseResult parse, BmcPowerStatus status, string? requested)
    {
        if (parse.GetValue(CtlCommand.Json))
        {
            CtlCommand.WriteJson(status, ApiJsonContext.Default.BmcPowerStatus);
        }
        else
        {
            var state = status.State.ToString().ToLowerInvariant();
            Console.Out.WriteLine(requested is null ? $"power is {state}" : $"power {requested} requested; power is now {state}");
        }

        return ExitCodes.Ok;
    }

    private static Command Sensors()
    {
        var command = new Command("sensors", "Temperatures, fans, voltages and power supplies with status and critical limits") { CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var sensors = await client.GetAsync("api/v1/bmc/sensors", ApiJsonContext.Default.BmcSensorArray, token).ConfigureAwait(false);
            if (parse.GetValue(CtlCommand.Json))
            {
                CtlCommand.WriteJson(sensors, ApiJsonContext.Default.BmcSensorArray);
                return ExitCodes.Ok;
            }

            Console.Out.Write(TextTable.Render(
                ["SENSOR", "READING", "UNIT", "STATUS", "CRITICAL BELOW/ABOVE"],
                sensors.Select(s => (IReadOnlyList<string>)[
                    s.Name,
                    Number(s.Reading),
                    s.Unit,
                    s.Status.ToString(),
                    $"{Number(s.Thresholds.LowerCritical)} / {Number(s.Thresholds.UpperCritical)}"]).ToArray()));
            return ExitCodes.Ok;
        }, ct));
        return command;

        static string Number(double? value) => value?.ToString("0.##", CultureInfo.InvariantCulture) ?? "-";
    }

    private static Command Sel()
    {
        var clear = new Option<bool>("--clear") { Description = "Clear the event log (after reading it)" };
        var command = new Command("sel", "The BMC's System Event Log, oldest first") { clear, CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var entries = await client.GetAsync("api/v1/bmc/sel", ApiJsonContext.Default.BmcSelEntryArray, token).ConfigureAwait(false);
            if (parse.GetValue(CtlCommand.Json))
            {
                CtlCommand.WriteJson(entries, ApiJsonContext.Default.BmcSelEntryArray);
            }
            else if (entries.Length == 0)
            {
                Console.Out.WriteLine("system event log is empty");
            }
            else
            {
                Console.Out.Write(TextTable.Render(
                    ["ID", "TIME", "SENSOR", "EVENT"],
                    entries.Select(e => (IReadOnlyList<string>)[
                        e.Id, e.Timestamp, e.Sensor, e.Asserted ? e.Description : e.Description + " (deasserted)"]).ToArray()));
            }

            if (parse.GetValue(clear))
            {
                var done = await client.SendAsync(HttpMethod.Delete, "api/v1/bmc/sel", ApiJsonContext.Default.BmcDone, token).ConfigureAwait(false);
                (parse.GetValue(CtlCommand.Json) ? Console.Error : Console.Out).WriteLine(done.Message);
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command FenceTest()
    {
        var command = new Command("fence-test", "Check the peer's BMC (Appliance:Ha:Fencing) answers with valid credentials; powers nothing") { CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var result = await client.SendAsync(HttpMethod.Post, "api/v1/bmc/fence-test", ApiJsonContext.Default.FenceResult, token).ConfigureAwait(false);
            var passed = result.Outcome == FenceOutcome.CheckPassed;
            if (parse.GetValue(CtlCommand.Json))
            {
                CtlCommand.WriteJson(result, ApiJsonContext.Default.FenceResult);
            }
            else
            {
                var line = string.Create(CultureInfo.InvariantCulture, $"fence check {(passed ? "passed" : "FAILED")} ({result.Outcome}, {result.Elapsed.TotalSeconds:0.0} s): {result.Detail}");
                (passed ? Console.Out : Console.Error).WriteLine(passed ? line : "appliancectl: " + line);
            }

            return passed ? ExitCodes.Ok : ExitCodes.Failed;
        }, ct));
        return command;
    }
}
