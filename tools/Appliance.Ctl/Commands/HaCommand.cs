using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.Core.Api;
using Appliance.Core.Failover;

namespace Appliance.Ctl.Commands;

/// <summary><c>appliancectl ha …</c>: pairing, planned switches, conflicts, maintenance and settings.</summary>
public static class HaCommand
{
    public static Command Create()
    {
        var ha = new Command("ha", "High availability: pair, switch roles, resolve conflicts, settings")
        {
            Status(),
            Settings(),
            Establish(),
            KeyGen(),
            RotateKey(),
            Operation("break", "Leave the pair: both sides go Off; history and keys are kept"),
            Switch("become-primary", "Planned switch: this Passive takes over once the Active has released (two-phase)", withUnreachable: false),
            Switch("become-backup", "Planned switch: this Active releases, then the Passive takes over", withUnreachable: true),
            Operation("failover-now", "Medium mode: take over now (only while the Active is unreachable)"),
            Operation("fix-conflict", "Resolve two Actives or two Passives (shared IP, epoch, preferred, node id)"),
            Operation("suspend", "Maintenance: no failover until resume"),
            Operation("resume", "End maintenance: failover enabled again"),
            Shutdown(),
            Operation("cancel-shutdown", "Take back an announced shutdown or reboot: heartbeats resume and the peer's blackout ends"),
        };
        return ha;
    }

    private static Command Status()
    {
        var command = new Command("status", "Role, epoch, peer, links and rejected messages") { CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var status = await client.GetAsync("api/v1/ha/status", ApiJsonContext.Default.HaStatus, token).ConfigureAwait(false);
            if (parse.GetValue(CtlCommand.Json))
            {
                CtlCommand.WriteJson(status, ApiJsonContext.Default.HaStatus);
                return ExitCodes.Ok;
            }

            Console.Out.Write(Render(status));
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    /// <summary>The <c>ha status</c> table: one line per fact, the peer's own health beside what we hear of it.</summary>
    internal static string Render(HaStatus status)
    {
        var e = status.Engine;
        return TextTable.RenderPairs([
            ("Role", status.Role.ToString()),
            ("Epoch", status.Epoch.ToString(CultureInfo.InvariantCulture)),
            ("Paired", status.Paired ? $"yes, with {e?.PeerNodeId}" : "no"),
            ("Peer", e is null ? "-" : $"{(e.PeerReachable ? "reachable" : "UNREACHABLE")}, {e.PeerRole?.ToString() ?? "?"} epoch {e.PeerEpoch?.ToString(CultureInfo.InvariantCulture) ?? "?"}"),
            ("Peer health", e is null ? "-" : e.PeerHealth ?? "not announced"),
            ("Last heartbeat", e?.LastHeartbeatAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-"),
            ("Peer timing", e?.PeerTiming is { } t
                ? $"HeartbeatInterval {HaSettings.Show(t.HeartbeatInterval)}, PartnerFailoverTimeout {HaSettings.Show(t.PartnerFailoverTimeout)}"
                : "not announced"),
            ("Conflict", e?.Conflict ?? "none"),
            ("Pending", e?.PendingReason ?? "none"),
            ("Failover", e is { Suspended: true } ? "SUSPENDED" : "enabled"),
            ("Shutdown", e switch
            {
                { ShutdownAnnounced: true } => "ANNOUNCED by this node (ha cancel-shutdown takes it back)",
                { PeerShutdownAnnounced: true } => "announced by the peer (its blackout applies once it is silent)",
                _ => "none",
            }),
            .. status.Paths.Select(p => ($"Link {p.Name}", $"{(p.Connected ? "up" : "DOWN")} {p.Endpoint} gen {p.Generation}")),
            ("Rejected msgs", string.Join(", ", status.Rejections.Where(r => r.Value > 0).Select(r => $"{r.Key} {r.Value}")) is { Length: > 0 } r ? r : "none"),
        ]);
    }

    private static Command Settings()
    {
        var set = new Option<string[]>("--set")
        {
            Description = "KEY=VALUE, repeatable; durations as 1s, 300ms, 14min, 14m, 2h or 00:00:03; lists comma-separated",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("settings", "Show the failover settings, or change them with --set") { set, CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var settings = await client.GetAsync("api/v1/ha/settings", ApiJsonContext.Default.HaSettings, token).ConfigureAwait(false);
            if (parse.GetValue(set) is { Length: > 0 } assignments)
            {
                settings = Apply(settings, assignments);
                var changed = await client.PutAsync("api/v1/ha/settings", settings, ApiJsonContext.Default.HaSettings, ApiJsonContext.Default.SettingsChanged, token).ConfigureAwait(false);
                settings = changed.Settings;
            }

            if (parse.GetValue(CtlCommand.Json))
            {
                CtlCommand.WriteJson(settings, ApiJsonContext.Default.HaSettings);
            }
            else
            {
                var node = JsonSerializer.SerializeToNode(settings, ApiJsonContext.Default.HaSettings)!.AsObject();
                Console.Out.Write(TextTable.RenderPairs(node.Select(p => (p.Key, p.Value is JsonArray a ? string.Join(", ", a) : p.Value?.ToString() ?? "-"))));
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    /// <summary>
    /// Applies KEY=VALUE pairs through the settings' JSON form, so every setting is reachable by its own name (any case,
    /// or a former name such as Mode) and a bad value gets the agent's own wording of what the field accepts.
    /// </summary>
    internal static HaSettings Apply(HaSettings settings, IEnumerable<string> assignments)
    {
        var typeInfo = ApiJsonContext.Default.HaSettings;
        var node = JsonSerializer.SerializeToNode(settings, typeInfo)!.AsObject();
        foreach (var assignment in assignments)
        {
            var eq = assignment.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new AgentCommandException($"--set '{assignment}' is not KEY=VALUE");
            }

            var name = assignment[..eq].Trim();
            var value = assignment[(eq + 1)..].Trim();
            var property = HaSettingsJson.Find(name, typeInfo)
                ?? throw new AgentCommandException($"--set {name}: unknown setting; known: {string.Join(", ", node.Select(p => p.Key))}");
            node[property.Name] = property.PropertyType switch
            {
                var t when t == typeof(IReadOnlyList<string>) => new JsonArray(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
                var t when t == typeof(bool) => JsonValue.Create(ParseBool(name, value)),
                var t when t == typeof(TimeSpan) => JsonValue.Create(ParseDuration(name, value).ToString("c", CultureInfo.InvariantCulture)),
                _ => value.Length == 0 ? null : JsonValue.Create(value),
            };
        }

        return HaSettingsJson.TryRead(node, typeInfo, out var applied, out var error) ? applied! : throw new AgentCommandException($"--set: {error}");
    }

    internal static TimeSpan ParseDuration(string name, string value)
    {
        if (TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var exact) && value.Contains(':', StringComparison.Ordinal))
        {
            return exact;
        }

        if (value == "0")
        {
            return TimeSpan.Zero; // as the ranges print it: "0 – 60 min", "0 (never)"
        }

        // "min" is how the agent prints minutes (HaSettings.Show: 50ms, 3s, 14min): what it prints must read back.
        (string Suffix, double Scale)[] units = [("ms", 1), ("min", 60_000), ("s", 1000), ("m", 60_000), ("h", 3_600_000)];
        foreach (var (suffix, scale) in units)
        {
            if (value.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(value[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
            {
                return TimeSpan.FromMilliseconds(amount * scale);
            }
        }

        throw new AgentCommandException($"--set {name}={value}: not a duration (e.g. 300ms, 3s, 14min, 14m, 2h, 00:00:03)");
    }

    private static bool ParseBool(string name, string value) => bool.TryParse(value, out var b)
        ? b
        : throw new AgentCommandException($"--set {name}={value}: true or false expected");

    private static Command Establish()
    {
        var peer = new Option<string>("--peer") { Description = "The peer's broker: HOST[:PORT] (port 1883 by default)", Required = true };
        var keyFile = new Option<FileInfo>("--key-file") { Description = "The pair's pre-shared key (from 'ha keygen'); the same file on both appliances", Required = true };
        var command = new Command("establish", "Pair with the peer (run it on both appliances with the same key file)") { peer, keyFile };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var (host, port) = ParsePeer(parse.GetValue(peer)!);
            var key = ReadKeyFile(parse.GetValue(keyFile)!);
            var result = await client.CommandAsync("api/v1/ha/establish", new EstablishRequest(host, port, Convert.ToBase64String(key)), ApiJsonContext.Default.EstablishRequest, token).ConfigureAwait(false);
            return Print(result);
        }, ct));
        return command;
    }

    private static Command RotateKey()
    {
        var keyFile = new Option<FileInfo>("--key-file") { Description = "The new pre-shared key (from 'ha keygen'); run on both appliances", Required = true };
        var command = new Command("rotate-key", "Switch the pair to a new key without a failover (the old key stays accepted for KeyOverlap)") { keyFile };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var key = ReadKeyFile(parse.GetValue(keyFile)!);
            return Print(await client.CommandAsync("api/v1/ha/rotate-key", new RotateKeyRequest(Convert.ToBase64String(key)), ApiJsonContext.Default.RotateKeyRequest, token).ConfigureAwait(false));
        }, ct));
        return command;
    }

    private static Command KeyGen()
    {
        var file = new Argument<FileInfo>("file") { Description = "Where to write the new key (mode 0600); copy it to the peer over a trusted channel" };
        var command = new Command("keygen", "Write a new random 256-bit pre-shared key file") { file };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!.FullName;
            if (File.Exists(path))
            {
                Console.Error.WriteLine($"appliancectl: {path} exists: refusing to overwrite a key");
                return ExitCodes.Failed;
            }

            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(path, options))
            {
                stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n"));
            }

            Console.Out.WriteLine($"wrote {path}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Operation(string name, string description)
    {
        var command = new Command(name, description);
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
            Print(await client.CommandAsync($"api/v1/ha/{name}", new SwitchRequest(false, false), ApiJsonContext.Default.SwitchRequest, token).ConfigureAwait(false)), ct));
        return command;
    }

    private static Command Switch(string name, string description, bool withUnreachable)
    {
        var sync = new Option<bool>("--sync") { Description = "The new Active first pulls the latest data from the old one (clients refused meanwhile)" };
        var unreachable = new Option<bool>("--even-if-unreachable") { Description = "Release even when the peer cannot be told" };
        var command = new Command(name, description) { sync };
        if (withUnreachable)
        {
            command.Add(unreachable);
        }

        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var request = new SwitchRequest(parse.GetValue(sync), withUnreachable && parse.GetValue(unreachable));
            return Print(await client.CommandAsync($"api/v1/ha/{name}", request, ApiJsonContext.Default.SwitchRequest, token).ConfigureAwait(false));
        }, ct));
        return command;
    }

    private static Command Shutdown()
    {
        var reboot = new Option<bool>("--reboot") { Description = "Reboot instead of powering off" };
        var announceOnly = new Option<bool>("--announce-only") { Description = "Only announce it: the appliance goes down by other means (BMC, console)" };
        var command = new Command("shutdown", "Announce a graceful shutdown to the peer (it then waits RebootBlackoutWindow before taking over), then power off or reboot") { reboot, announceOnly };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
            Print(await client.CommandAsync("api/v1/ha/shutdown", new ShutdownRequest(parse.GetValue(reboot), parse.GetValue(announceOnly)), ApiJsonContext.Default.ShutdownRequest, token).ConfigureAwait(false)), ct));
        return command;
    }

    private static int Print(CommandResult result)
    {
        (result.Ok ? Console.Out : Console.Error).WriteLine(result.Ok ? result.Message : "appliancectl: " + result.Message);
        return result.Ok ? ExitCodes.Ok : ExitCodes.Failed;
    }

    internal static (string Host, int Port) ParsePeer(string peer)
    {
        var colon = peer.LastIndexOf(':');
        if (colon < 0 || peer.Count(c => c == ':') > 1 && !peer.StartsWith('['))
        {
            return (peer, 1883);
        }

        var host = peer[..colon].Trim('[', ']');
        return int.TryParse(peer[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? (host, port)
            : throw new AgentCommandException($"--peer '{peer}': the port must be 1 to 65535");
    }

    /// <summary>A key file holds the key as one line of base64 (what keygen writes) or as raw bytes.</summary>
    internal static byte[] ReadKeyFile(FileInfo file)
    {
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentCommandException($"--key-file {file.FullName}: {e.Message}");
        }

        try
        {
            return Convert.FromBase64String(Encoding.ASCII.GetString(raw).Trim());
        }
        catch (FormatException)
        {
            return raw;
        }
    }
}
