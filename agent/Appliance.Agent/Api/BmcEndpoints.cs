using System.Globalization;
using Appliance.Agent.Bmc;
using Appliance.Agent.Hosting;
using Appliance.Agent.Store;
using Appliance.Core.Api;
using Appliance.Core.Ports;
using Appliance.Hw.Bmc;

namespace Appliance.Agent.Api;

/// <summary>
/// <c>/api/v1/bmc/…</c>: this appliance's own BMC (identity, LAN, users, power, sensors, SEL) and a dry
/// check of the peer's fencing BMC. Changes are recorded in the history; a password never is.
/// </summary>
public static class BmcEndpoints
{
    public const string NotConfigured = "no BMC configured (Appliance:Bmc:Kind)";

    public static void Map(RouteGroupBuilder bmc)
    {
        bmc.MapGet("/info", (BmcHandle handle, CancellationToken ct) => Run(handle, async b =>
        {
            var controller = await b.GetControllerInfoAsync(ct);
            var fru = await b.GetFruAsync(ct);
            return Results.Json(new BmcInfo(b.Kind, controller, fru), ApiJsonContext.Default.BmcInfo);
        }));

        bmc.MapGet("/net", (BmcHandle handle, CancellationToken ct) => Run(handle, async b =>
            Results.Json(await b.GetLanAsync(ct), ApiJsonContext.Default.BmcLanConfig)));

        bmc.MapPut("/net", (BmcLanRequest request, BmcHandle handle, AgentStore store, CancellationToken ct) => Run(handle, async b =>
        {
            await b.SetLanAsync(request, ct);
            var applied = await b.GetLanAsync(ct);
            store.AppendHistory("bmc", $"LAN set to {Describe(applied)}", "api");
            return Results.Json(applied, ApiJsonContext.Default.BmcLanConfig);
        }));

        bmc.MapPost("/users/{id:int}/password", (int id, BmcPasswordRequest request, BmcHandle handle, AgentStore store, CancellationToken ct) => Run(handle, async b =>
        {
            await b.SetPasswordAsync(id, request.Password ?? "", ct);
            var message = string.Create(CultureInfo.InvariantCulture, $"password of BMC user {id} set");
            store.AppendHistory("bmc", message, "api");
            return Results.Json(new BmcDone(message), ApiJsonContext.Default.BmcDone);
        }));

        bmc.MapGet("/power", (BmcHandle handle, CancellationToken ct) => Run(handle, async b =>
            Results.Json(new BmcPowerStatus(await b.GetPowerStateAsync(ct)), ApiJsonContext.Default.BmcPowerStatus)));

        bmc.MapPost("/power/{action}", (string action, BmcHandle handle, AgentStore store, CancellationToken ct) => Run(handle, async b =>
        {
            if (!Enum.TryParse<BmcPowerAction>(action, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(action, out _))
            {
                return Error(StatusCodes.Status400BadRequest, $"action '{action}' is invalid: on, off, cycle or soft");
            }

            await b.SetPowerAsync(parsed, ct);
            store.AppendHistory("bmc", $"chassis power {action.ToLowerInvariant()} requested", "api");
            return Results.Json(new BmcPowerStatus(await b.GetPowerStateAsync(ct)), ApiJsonContext.Default.BmcPowerStatus);
        }));

        bmc.MapGet("/sensors", (BmcHandle handle, CancellationToken ct) => Run(handle, async b =>
            Results.Json((await b.ReadSensorsAsync(ct)).ToArray(), ApiJsonContext.Default.BmcSensorArray)));

        bmc.MapGet("/sel", (BmcHandle handle, CancellationToken ct) => Run(handle, async b =>
            Results.Json((await b.ReadEventLogAsync(ct)).ToArray(), ApiJsonContext.Default.BmcSelEntryArray)));

        bmc.MapDelete("/sel", (BmcHandle handle, AgentStore store, CancellationToken ct) => Run(handle, async b =>
        {
            await b.ClearEventLogAsync(ct);
            store.AppendHistory("bmc", "system event log cleared", "api");
            return Results.Json(new BmcDone("system event log cleared"), ApiJsonContext.Default.BmcDone);
        }));

        // The peer's BMC, through the same fencer the HA engine uses: proves address and credentials, powers nothing.
        bmc.MapPost("/fence-test", async (IPeerFencer fencer, AgentOptions options, CancellationToken ct) =>
            options.Ha.FencingConfigured
                ? Results.Json(await fencer.CheckAsync(ct), ApiJsonContext.Default.FenceResult)
                : Error(StatusCodes.Status409Conflict, "fencing is not configured (Appliance:Ha:Fencing:Enabled)"));
    }

    /// <summary>Runs one BMC operation and turns its failures into one-line API errors.</summary>
    private static async Task<IResult> Run(BmcHandle handle, Func<IBmc, Task<IResult>> operation)
    {
        if (handle.Bmc is not { } bmc)
        {
            return Error(StatusCodes.Status409Conflict, NotConfigured);
        }

        try
        {
            return await operation(bmc);
        }
        catch (BmcValidationException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }
        catch (BmcException e)
        {
            return Error(StatusFor(e.Kind), e.Message);
        }
    }

    /// <summary>The BMC is the API's upstream: a refused login is 401, no answer is 504, anything else it did is 502.</summary>
    internal static int StatusFor(BmcErrorKind kind) => kind switch
    {
        BmcErrorKind.AuthenticationFailed => StatusCodes.Status401Unauthorized,
        BmcErrorKind.Unreachable or BmcErrorKind.Timeout => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status502BadGateway,
    };

    private static string Describe(BmcLanConfig lan)
    {
        var vlan = lan.VlanId is { } id ? string.Create(CultureInfo.InvariantCulture, $", VLAN {id}") : ", no VLAN";
        return lan.IpSource == BmcIpSource.Dhcp
            ? "DHCP" + vlan
            : $"static {lan.Address}/{lan.Netmask} gateway {lan.Gateway}{vlan}";
    }

    private static IResult Error(int status, string message) =>
        Results.Json(new ApiError(message), ApiJsonContext.Default.ApiError, statusCode: status);
}
