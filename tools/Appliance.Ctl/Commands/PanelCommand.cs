using System.CommandLine;
using System.CommandLine.Parsing;
using Appliance.Core.Api;
using Appliance.Core.Panel;

namespace Appliance.Ctl.Commands;

/// <summary><c>appliancectl panel …</c>: the front panel's screen, remote presses (simulated panel only), its settings.</summary>
public static class PanelCommand
{
    private static readonly string[] Keys = ["up", "down", "check", "back"];
    private static readonly string[] OnOffValues = ["on", "off"];
    private static readonly TimeSpan MaxHold = TimeSpan.FromSeconds(10);

    public static Command Create() => new("panel", "Front panel: show the screen, press buttons (simulated panel), settings")
    {
        Show(),
        Press(),
        Settings(),
    };

    private static Command Show()
    {
        var command = new Command("show", "Print what the front panel shows now, as a framed box") { CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var view = await client.GetAsync("api/v1/panel", ApiJsonContext.Default.PanelView, token).ConfigureAwait(false);
            return Print(view, parse.GetValue(CtlCommand.Json));
        }, ct));
        return command;
    }

    private static Command Press()
    {
        var key = new Argument<string>("key") { Description = "up, down, check or back" };
        key.AcceptOnlyFromAmong(Keys);
        var hold = new Option<TimeSpan>("--hold")
        {
            Description = "Hold the key this long (e.g. 2s, 2500ms; at most 10s); default a short press",
            CustomParser = ParseHold,
        };
        var with = new Option<string?>("--with") { Description = "A second key held together with KEY (a chord, e.g. up --with down)" };
        with.AcceptOnlyFromAmong(Keys);
        var command = new Command("press", "Press a front-panel button (works only on the simulated panel)") { key, hold, with, CtlCommand.Json };
        command.Validators.Add(result =>
        {
            if (result.GetValue(with) is { } other && other == result.GetValue(key))
            {
                result.AddError($"--with {other}: a chord needs a key different from {other}");
            }
        });
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var request = new PanelPressRequest(parse.GetValue(key), (int)parse.GetValue(hold).TotalMilliseconds, parse.GetValue(with));
            var view = await client.PostAsync("api/v1/panel/press", request, ApiJsonContext.Default.PanelPressRequest, ApiJsonContext.Default.PanelView, token).ConfigureAwait(false);
            return Print(view, parse.GetValue(CtlCommand.Json));
        }, ct));
        return command;
    }

    private static Command Settings()
    {
        var buttons = new Option<string?>("--buttons") { Description = "on: the buttons work; off: they are ignored (the display still shows status)" };
        buttons.AcceptOnlyFromAmong(OnOffValues);
        var reset = new Option<string?>("--allow-password-reset") { Description = "on: holding up+down on Show IP offers a new admin password" };
        reset.AcceptOnlyFromAmong(OnOffValues);
        var command = new Command("settings", "Show the front-panel settings, or change them") { buttons, reset, CtlCommand.Json };
        command.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var settings = await client.GetAsync("api/v1/panel/settings", ApiJsonContext.Default.PanelSettings, token).ConfigureAwait(false);
            var (newButtons, newReset) = (parse.GetValue(buttons), parse.GetValue(reset));
            if (newButtons is not null || newReset is not null)
            {
                var wanted = settings with
                {
                    ButtonsEnabled = newButtons is null ? settings.ButtonsEnabled : newButtons == "on",
                    AllowPasswordReset = newReset is null ? settings.AllowPasswordReset : newReset == "on",
                };
                settings = await client.PutAsync("api/v1/panel/settings", wanted, ApiJsonContext.Default.PanelSettings, ApiJsonContext.Default.PanelSettings, token).ConfigureAwait(false);
            }

            if (parse.GetValue(CtlCommand.Json))
            {
                CtlCommand.WriteJson(settings, ApiJsonContext.Default.PanelSettings);
            }
            else
            {
                Console.Out.Write(TextTable.RenderPairs([
                    ("Buttons", settings.ButtonsEnabled ? "on" : "off"),
                    ("Password reset", settings.AllowPasswordReset ? "allowed (hold up+down on Show IP)" : "not allowed"),
                ]));
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    /// <summary>A bad --hold is a usage error (exit 2), caught before anything is pressed.</summary>
    private static TimeSpan ParseHold(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        try
        {
            var hold = HaCommand.ParseDuration("--hold", text);
            if (hold >= TimeSpan.Zero && hold <= MaxHold)
            {
                return hold;
            }
        }
        catch (AgentCommandException)
        {
            // Reported below with the allowed range.
        }

        result.AddError($"--hold {text} is invalid: a duration from 0 to 10s is allowed (e.g. 2s, 2500ms)");
        return TimeSpan.Zero;
    }

    private static int Print(PanelView view, bool json)
    {
        if (json)
        {
            CtlCommand.WriteJson(view, ApiJsonContext.Default.PanelView);
            return ExitCodes.Ok;
        }

        if (view.Lines.Count == 0)
        {
            Console.Out.WriteLine($"no front panel in use (kind {view.Kind}){(view.Warning is { } w ? ": " + w : "")}");
            return ExitCodes.Ok;
        }

        // The same renderer the agent uses for text/plain, so both show the same box.
        Console.Out.Write(new PanelFrame(new PanelGeometry(view.Columns, view.Rows), view.Lines, view.BacklightOn).RenderBox());
        return ExitCodes.Ok;
    }
}
