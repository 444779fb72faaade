using System.Globalization;
using System.Text.RegularExpressions;
using Appliance.Agent.Runtime;
using Appliance.Agent.Store;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Microsoft.Net.Http.Headers;

namespace Appliance.Agent.Api;

/// <summary>The local API: the load balancers' probes (anonymous, read-only) and the technicians' API.</summary>
public static partial class ApiEndpoints
{
    public const int MaxHistoryLimit = 10_000;

    public static void Map(WebApplication app)
    {
        // U-Series load-balancer probe: path and member name are what existing LB configs poll.
        app.MapGet("/UVMInterface/api/HighAvailability", (HttpContext context, NodeRuntime runtime) =>
            AcceptsJson(context.Request)
                ? Results.Json(new HighAvailabilityRole(LoadBalancerRole(runtime.Role)), ApiJsonContext.Default.HighAvailabilityRole)
                : Results.StatusCode(StatusCodes.Status406NotAcceptable));

        // B-Series probe: 200 or 500 with one human line, nothing else.
        app.MapGet("/check_health", (NodeRuntime runtime) =>
        {
            var (healthy, message) = runtime.CheckHealth();
            return Results.Text(message + "\n", "text/plain", statusCode: healthy ? 200 : 500);
        });

        ApiGate.Use(app);
        var api = app.MapGroup("/api/v1").WithMetadata(new AuthenticatedEndpoint());

        api.MapGet("/status", (NodeRuntime runtime) =>
            Results.Json(runtime.Snapshot(), ApiJsonContext.Default.AgentStatus));

        // Parsed here, not bound: the binder's "Failed to bind parameter" names neither the range nor the form.
        api.MapGet("/history", (string? limit, AgentStore store) =>
        {
            int take = 50;
            return limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out take) || take is < 1 or > MaxHistoryLimit)
                ? BadRequest($"limit={limit} is not allowed: allowed a whole number from 1 to {MaxHistoryLimit}")
                : Results.Json(store.ReadHistory(take).ToArray(), ApiJsonContext.Default.HistoryEntryArray);
        });

        HaEndpoints.Map(api.MapGroup("/ha"));
        BmcEndpoints.Map(api.MapGroup("/bmc"));
        PanelEndpoints.Map(api.MapGroup("/panel"));

        api.MapPost("/tokens", (CreateTokenRequest request, HttpContext context, ApiAuthentication auth) =>
        {
            if (!ApiAuthentication.IsLocalSocket(context))
            {
                // A token can mint tokens only from the box itself: a leaked token must not multiply.
                return Results.StatusCode(StatusCodes.Status403Forbidden);
            }

            return TokenName().IsMatch(request.Name ?? "")
                ? Results.Json(new CreatedToken(request.Name!, auth.CreateToken(request.Name!)), ApiJsonContext.Default.CreatedToken)
                : BadRequest($"name='{request.Name}' is invalid: 1 to 32 characters from A-Z a-z 0-9 . _ - allowed");
        });
    }

    /// <summary>Load balancers know three roles; a pending failover is not yet serving.</summary>
    internal static string LoadBalancerRole(HaRole role) => role switch
    {
        HaRole.Active => "Active",
        HaRole.Passive or HaRole.FailoverPending => "Passive",
        _ => "Off",
    };

    internal static bool AcceptsJson(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted) || accepted.Count == 0)
        {
            return true; // no (or unparseable) Accept: JSON is the only representation
        }

        var json = new MediaTypeHeaderValue("application/json");
        return accepted.Any(a => json.IsSubsetOf(a) && a.Quality is not 0);
    }

    private static IResult BadRequest(string message) =>
        Results.Json(new ApiError(message), ApiJsonContext.Default.ApiError, statusCode: StatusCodes.Status400BadRequest);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,32}$")]
    private static partial Regex TokenName();
}
