using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Appliance.Ctl;

/// <summary>Exit codes shared by every verb (documented in docs/operations.md).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int AgentUnreachable = 3;
}

/// <summary>Options every verb accepts, and the one place agent errors become exit codes.</summary>
public static class CtlCommand
{
    public static readonly Option<string?> Socket = new("--socket")
    {
        Description = "Agent socket (default: $APPLIANCE_SOCKET, /run/appliance/agent.sock, then ./var/agent.sock)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "Print JSON for scripts instead of a table" };

    /// <summary>Runs <paramref name="action"/> against the agent and maps failures to exit codes with one line on stderr.</summary>
    public static async Task<int> RunAsync(ParseResult parse, Func<AgentClient, CancellationToken, Task<int>> action, CancellationToken cancellationToken)
    {
        try
        {
            using var client = AgentClient.Connect(parse.GetValue(Socket));
            return await action(client, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentUnreachableException e)
        {
            await Console.Error.WriteLineAsync($"appliancectl: {e.Message}").ConfigureAwait(false);
            return ExitCodes.AgentUnreachable;
        }
        catch (AgentCommandException e)
        {
            await Console.Error.WriteLineAsync($"appliancectl: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"appliancectl: agent connection failed: {e.Message}").ConfigureAwait(false);
            return ExitCodes.AgentUnreachable;
        }
    }

    public static void WriteJson<T>(T value, JsonTypeInfo<T> type) =>
        Console.Out.WriteLine(JsonSerializer.Serialize(value, type));
}
