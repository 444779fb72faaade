using System.CommandLine;
using Appliance.Ctl;
using Appliance.Ctl.Commands;

var root = new RootCommand("appliancectl: operate this appliance's agent (over its local socket; needs admin rights)")
{
    CtlCommand.Socket,
    StatusCommand.Create(),
    HistoryCommand.Create(),
    VersionCommand.Create(),
    TokenCommand.Create(),
    HaCommand.Create(),
    BmcCommand.Create(),
    PanelCommand.Create(),
};

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"appliancectl: {error.Message}");
    }

    Console.Error.WriteLine("appliancectl: see 'appliancectl --help'");
    return ExitCodes.Usage;
}

return await parse.InvokeAsync().ConfigureAwait(false);
