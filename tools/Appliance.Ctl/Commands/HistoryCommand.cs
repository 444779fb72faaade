using System.CommandLine;
using System.Globalization;
using Appliance.Core.Api;

namespace Appliance.Ctl.Commands;

/// <summary><c>appliancectl history [--limit N] [--json]</c>: role transitions and events, newest first.</summary>
public static class HistoryCommand
{
    public static Command Create()
    {
        var limit = new Option<int>("--limit")
        {
            Description = "How many entries, newest first (1 to 10000)",
            DefaultValueFactory = _ => 20,
        };
        limit.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<int>();
            if (value is < 1 or > 10_000)
            {
                result.AddError($"--limit={value} is out of range: allowed 1 to 10000");
            }
        });

        var command = new Command("history", "Show the status history: every role transition and event, with its cause") { limit, CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var path = string.Create(CultureInfo.InvariantCulture, $"api/v1/history?limit={parse.GetValue(limit)}");
            var entries = await client.GetAsync(path, ApiJsonContext.Default.HistoryEntryArray, token).ConfigureAwait(false);
            if (parse.GetValue(CtlCommand.Json))
            {
                CtlCommand.WriteJson(entries, ApiJsonContext.Default.HistoryEntryArray);
            }
            else
            {
                Console.Out.Write(TextTable.Render(
                    ["ID", "TIME (UTC)", "KIND", "WHAT", "CAUSE"],
                    entries.Select(e => (IReadOnlyList<string>)[
                        e.Id.ToString(CultureInfo.InvariantCulture),
                        e.Time.UtcDateTime.ToString("MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                        e.Kind,
                        e.Message,
                        e.Cause]).ToArray()));
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }
}
