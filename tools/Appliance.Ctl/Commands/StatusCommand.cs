using System.CommandLine;
using System.Globalization;
using Appliance.Core.Api;

namespace Appliance.Ctl.Commands;

/// <summary><c>appliancectl status [--json]</c>: this node's role, epoch, peer and health.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command("status", "Show this appliance's role, epoch, peer and health") { CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var status = await client.GetAsync("api/v1/status", ApiJsonContext.Default.AgentStatus, token).ConfigureAwait(false);
            if (parse.GetValue(CtlCommand.Json))
            {
                CtlCommand.WriteJson(status, ApiJsonContext.Default.AgentStatus);
            }
            else
            {
                Console.Out.Write(TextTable.RenderPairs(Rows(status)));
            }

            return status.Healthy ? ExitCodes.Ok : ExitCodes.Failed;
        }, ct));
        return command;
    }

    internal static IEnumerable<(string, string)> Rows(AgentStatus s)
    {
        yield return ("Node", $"{s.NodeName} ({s.NodeId})");
        yield return ("Role", s.Role.ToString());
        yield return ("Epoch", s.Epoch.ToString(CultureInfo.InvariantCulture));
        yield return ("Peer", s.Peer.NodeId is null ? "not paired" : $"{s.Peer.NodeId} at {s.Peer.Address}");
        yield return ("Peer reachable", s.Peer.NodeId is null ? "-" : s.Peer.Reachable ? "yes" : "NO");
        yield return ("Last heartbeat", s.Peer.LastHeartbeat?.ToString("u", CultureInfo.InvariantCulture) ?? "-");
        yield return ("Health", s.Healthy ? "OK" : "FAIL: " + s.HealthMessage);
        yield return ("Uptime", FormatUptime(s.Uptime));
        yield return ("Boot count", s.BootCount.ToString(CultureInfo.InvariantCulture));
        yield return ("Version", s.Version);
    }

    private static string FormatUptime(TimeSpan uptime) =>
        uptime.TotalDays >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)uptime.TotalDays}d {uptime:hh\\:mm\\:ss}")
            : uptime.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);
}
