using System.CommandLine;
using Appliance.Core.Api;

namespace Appliance.Ctl.Commands;

/// <summary><c>appliancectl version</c>: this CLI's version, and the agent's when it is reachable.</summary>
public static class VersionCommand
{
    public static string CliVersion { get; } = typeof(VersionCommand).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public static Command Create()
    {
        var command = new Command("version", "Show the versions of appliancectl and of the running agent");
        command.SetAction(async (parse, ct) =>
        {
            Console.Out.WriteLine($"appliancectl {CliVersion}");
            var code = await CtlCommand.RunAsync(parse, async (client, token) =>
            {
                var status = await client.GetAsync("api/v1/status", ApiJsonContext.Default.AgentStatus, token).ConfigureAwait(false);
                Console.Out.WriteLine($"appliance-agent {status.Version} ({client.SocketPath})");
                return ExitCodes.Ok;
            }, ct).ConfigureAwait(false);
            return code == ExitCodes.AgentUnreachable ? ExitCodes.Ok : code; // the CLI's own version is still an answer
        });
        return command;
    }
}
