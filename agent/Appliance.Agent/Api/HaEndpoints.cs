using Appliance.Agent.Ha;
using Appliance.Agent.Hosting;
using Appliance.Agent.Store;
using Appliance.Core.Api;
using Appliance.Core.Failover;

namespace Appliance.Agent.Api;

/// <summary><c>/api/v1/ha/…</c>: pairing, planned switches, conflicts, maintenance and settings (authenticated).</summary>
public static class HaEndpoints
{
    public static void Map(RouteGroupBuilder ha)
    {
        ha.MapGet("/status", (HaService service) =>
        {
            var snapshot = service.Snapshot;
            var persisted = service.Persisted;
            var status = new HaStatus(
                snapshot?.Role ?? HaRole.Off,
                snapshot?.Epoch ?? persisted.Epoch,
                snapshot?.Paired ?? false,
                snapshot,
                (service.Rejections ?? new Dictionary<Core.Heartbeat.RejectReason, long>()).ToDictionary(r => r.Key.ToString(), r => r.Value),
                service.Paths.Select(p => new PathView(p.Name, p.Endpoint, p.Connected, p.Generation, p.ReconnectCount)).ToArray());
            return Results.Json(status, ApiJsonContext.Default.HaStatus);
        });

        ha.MapGet("/settings", (HaService service) => Results.Json(service.Settings, ApiJsonContext.Default.HaSettings));

        // The body is read here, not bound: a value of the wrong kind gets the same clear 400 as a value out of range.
        ha.MapPut("/settings", async (HttpRequest request, HaService service, AgentStore store, AgentOptions options, CancellationToken ct) =>
        {
            using var reader = new StreamReader(request.Body);
            if (JsonBodyErrors.Parse(await reader.ReadToEndAsync(ct), out var body) is { } notJson)
            {
                return Refused(notJson);
            }

            if (!HaSettingsJson.TryRead(body, ApiJsonContext.Default.HaSettings, out var settings, out var invalid))
            {
                return Refused(invalid!);
            }

            var errors = await service.UpdateSettingsAsync(settings!, options.Ha.FencingConfigured, ct);
            if (errors.Count > 0)
            {
                return Refused(string.Join("; ", errors));
            }

            var id = store.AppendHistory("settings", "HA settings changed", "api");
            return Results.Json(new SettingsChanged(id, service.Settings), ApiJsonContext.Default.SettingsChanged);
        });

        ha.MapPost("/establish", async (EstablishRequest request, HaService service, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(request.PeerHost) || request.PeerPort is < 1 or > 65535)
            {
                return Refused($"peer='{request.PeerHost}:{request.PeerPort}' is invalid: HOST[:PORT] with a port 1 to 65535 is allowed");
            }

            return DecodeKey(request.KeyBase64, out var key) is { } bad
                ? bad
                : Answer(await service.EstablishAsync(request.PeerHost.Trim(), request.PeerPort, key, ct));
        });

        ha.MapPost("/rotate-key", async (RotateKeyRequest request, HaService service, CancellationToken ct) =>
            DecodeKey(request.KeyBase64, out var key) is { } bad ? bad : Answer(await service.RotateKeyAsync(key, ct)));

        ha.MapPost("/break", async (HaService service, CancellationToken ct) => Answer(await service.BreakAsync(ct)));
        ha.MapPost("/become-primary", (SwitchRequest? request, HaService service, CancellationToken ct) =>
            Run(service, new OperatorCommand.BecomePrimary(request?.Sync ?? false), ct));
        ha.MapPost("/become-backup", (SwitchRequest? request, HaService service, CancellationToken ct) =>
            Run(service, new OperatorCommand.BecomeBackup(request?.Sync ?? false, request?.EvenIfUnreachable ?? false), ct));
        ha.MapPost("/failover-now", (HaService service, CancellationToken ct) => Run(service, new OperatorCommand.FailoverNow(), ct));
        ha.MapPost("/fix-conflict", (HaService service, CancellationToken ct) => Run(service, new OperatorCommand.FixConflict(), ct));
        ha.MapPost("/suspend", (HaService service, CancellationToken ct) => Run(service, new OperatorCommand.SuspendFailover(), ct));
        ha.MapPost("/resume", (HaService service, CancellationToken ct) => Run(service, new OperatorCommand.ResumeFailover(), ct));
        ha.MapPost("/shutdown", async (ShutdownRequest? request, HaService service, AppliancePower power, CancellationToken ct) =>
        {
            bool reboot = request?.Reboot ?? false;
            CommandResult announced = await service.ExecuteAsync(new OperatorCommand.Shutdown(reboot), ct);
            return Answer(announced.Ok && request?.AnnounceOnly != true ? await power.RunAsync(reboot, announced, ct) : announced);
        });
        ha.MapPost("/cancel-shutdown", (HaService service, CancellationToken ct) => Run(service, new OperatorCommand.CancelShutdown(), ct));

        // The B-Series set_failover_role: a planned switch expressed as the wanted role.
        ha.MapPost("/role", (SetRoleRequest request, HaService service, CancellationToken ct) => request.Role switch
        {
            HaRole.Active => Run(service, new OperatorCommand.BecomePrimary(Sync: false), ct),
            HaRole.Passive => Run(service, new OperatorCommand.BecomeBackup(Sync: false, EvenIfUnreachable: false), ct),
            _ => Task.FromResult(Refused($"role={request.Role} is invalid here: allowed Active or Passive (use 'break' to leave the pair)")),
        });
    }

    /// <summary>Null when the key is usable; otherwise the 400 naming what is wrong (never the key).</summary>
    private static IResult? DecodeKey(string keyBase64, out byte[] key)
    {
        try
        {
            key = Convert.FromBase64String(keyBase64);
        }
        catch (FormatException)
        {
            key = [];
            return Refused("key is not base64");
        }

        return key.Length is < Core.Heartbeat.PairKey.MinLength or > Core.Heartbeat.PairKey.MaxLength
            ? Refused($"key length={key.Length} bytes is out of range: allowed {Core.Heartbeat.PairKey.MinLength} to {Core.Heartbeat.PairKey.MaxLength} bytes")
            : null;
    }

    private static async Task<IResult> Run(HaService service, OperatorCommand command, CancellationToken ct) =>
        Answer(await service.ExecuteAsync(command, ct));

    /// <summary>A refusal is a 409 with the engine's reason: the request was understood, the state forbids it.</summary>
    private static IResult Answer(CommandResult result) =>
        Results.Json(result, ApiJsonContext.Default.CommandResult, statusCode: result.Ok ? StatusCodes.Status200OK : StatusCodes.Status409Conflict);

    private static IResult Refused(string message) =>
        Results.Json(new ApiError(message), ApiJsonContext.Default.ApiError, statusCode: StatusCodes.Status400BadRequest);
}
