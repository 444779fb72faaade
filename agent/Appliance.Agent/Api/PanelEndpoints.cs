using Appliance.Agent.Panel;
using Appliance.Agent.Store;
using Appliance.Core.Api;
using Appliance.Core.Panel;
using Appliance.Hw.FrontPanel;
using Microsoft.Net.Http.Headers;

namespace Appliance.Agent.Api;

/// <summary><c>/api/v1/panel/…</c>: what the front panel shows, remote presses (simulated panel only), operator settings.</summary>
public static class PanelEndpoints
{
    public const int MaxHoldMilliseconds = 10_000;

    /// <summary>An accepted password is hashed (PBKDF2) before the press answers; this bounds that wait.</summary>
    private static readonly TimeSpan EffectsTimeout = TimeSpan.FromSeconds(20);

    private static readonly string AllowedKeys = string.Join("|", Enum.GetNames<PanelKey>().Select(n => n.ToLowerInvariant()));

    public static void Map(RouteGroupBuilder panel)
    {
        // A person reads the box (text/plain, the default); scripts ask for JSON explicitly.
        panel.MapGet("", (HttpContext context, FrontPanelRuntime runtime) =>
            WantsJson(context.Request)
                ? Results.Json(View(runtime), ApiJsonContext.Default.PanelView)
                : Results.Text(runtime.RenderScreen() ?? $"no front panel in use (kind {runtime.Kind}){(runtime.Warning is { } w ? ": " + w : "")}\n", "text/plain; charset=utf-8"));

        panel.MapPost("/press", async (PanelPressRequest? request, FrontPanelRuntime runtime, CancellationToken ct) =>
        {
            if (runtime.RemotePress is not { } remote)
            {
                // Physical presence is what authorises a password reset on a real panel: no remote path to its buttons.
                return Error($"remote press works only on the simulated panel (this panel is {runtime.Kind})", StatusCodes.Status409Conflict);
            }

            var (key, hold, with, error) = ParsePress(request);
            if (error is not null)
            {
                return Error(error, StatusCodes.Status400BadRequest);
            }

            await remote.PressAsync(key, hold, with, ct).ConfigureAwait(false);
            if (runtime.Controller is { } controller)
            {
                // Answer with the screen after the press's effects (an accepted password is stored by then).
                await controller.PendingEffects.WaitAsync(EffectsTimeout, ct).ConfigureAwait(false);
            }

            return Results.Json(View(runtime), ApiJsonContext.Default.PanelView);
        });

        panel.MapGet("/settings", (PanelSettingsStore settings) => Results.Json(settings.Load(), ApiJsonContext.Default.PanelSettings));

        panel.MapPut("/settings", (PanelSettings? settings, PanelSettingsStore stored, FrontPanelRuntime runtime, AgentStore store) =>
        {
            if (settings is null)
            {
                return Error("body is empty: {\"buttonsEnabled\": true|false, \"allowPasswordReset\": true|false} expected", StatusCodes.Status400BadRequest);
            }

            stored.Save(settings);
            if (runtime.Controller is { } controller)
            {
                controller.Settings = settings;
            }

            store.AppendHistory("settings", $"panel settings changed: buttons {OnOff(settings.ButtonsEnabled)}, password reset {OnOff(settings.AllowPasswordReset)}", "api");
            return Results.Json(settings, ApiJsonContext.Default.PanelSettings);
        });
    }

    /// <summary>Validates a press request; every message names the field, the value and what is allowed.</summary>
    internal static (PanelKey Key, TimeSpan Hold, PanelKey? With, string? Error) ParsePress(PanelPressRequest? request)
    {
        if (request is null || string.IsNullOrWhiteSpace(request.Key))
        {
            return (default, default, null, $"key is missing: one of {AllowedKeys} is required");
        }

        if (ParseKey(request.Key) is not { } key)
        {
            return (default, default, null, $"key='{request.Key}' is not a panel key: allowed {AllowedKeys}");
        }

        var holdMs = request.HoldMs ?? 0;
        if (holdMs is < 0 or > MaxHoldMilliseconds)
        {
            return (default, default, null, $"holdMs={holdMs} is out of range: allowed 0 to {MaxHoldMilliseconds}");
        }

        PanelKey? with = null;
        if (!string.IsNullOrEmpty(request.With))
        {
            with = ParseKey(request.With);
            if (with is null)
            {
                return (default, default, null, $"with='{request.With}' is not a panel key: allowed {AllowedKeys}");
            }

            if (with == key)
            {
                return (default, default, null, $"with='{request.With}' is the pressed key itself: a chord needs a different key");
            }
        }

        return (key, TimeSpan.FromMilliseconds(holdMs), with, null);
    }

    /// <summary>By name only (Enum.TryParse would also take "1").</summary>
    private static PanelKey? ParseKey(string text) =>
        Enum.GetNames<PanelKey>().FirstOrDefault(n => n.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase)) is { } name
            ? Enum.Parse<PanelKey>(name)
            : null;

    internal static PanelView View(FrontPanelRuntime runtime)
    {
        var frame = runtime.CurrentFrame();
        return new PanelView(
            runtime.Kind.ToString(),
            frame?.Geometry.Columns ?? 0,
            frame?.Geometry.Rows ?? 0,
            frame?.Lines ?? [],
            frame?.BacklightOn ?? false,
            runtime.Warning);
    }

    private static bool WantsJson(HttpRequest request) =>
        MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted)
        && accepted.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) && a.Quality is not 0);

    private static string OnOff(bool value) => value ? "on" : "off";

    private static IResult Error(string message, int status) =>
        Results.Json(new ApiError(message), ApiJsonContext.Default.ApiError, statusCode: status);
}
