using System.Text.Json;
using Appliance.Core.Api;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Appliance.Agent.Api;

/// <summary>Endpoint metadata: only a caller <see cref="ApiAuthentication"/> accepts may use the endpoint.</summary>
public sealed class AuthenticatedEndpoint;

/// <summary>
/// What every request passes between routing and its endpoint, so before anything is bound: an endpoint marked
/// <see cref="AuthenticatedEndpoint"/> refuses an unknown caller (401, empty, the body unread); a parameter that does
/// not bind — above all a JSON body — is a 400 naming the field and what it accepts (<see cref="JsonBodyErrors"/>),
/// and the endpoint never runs, so nothing changes. ASP.NET's own answer is an empty 400; with
/// <see cref="RouteHandlerOptions.ThrowOnBadRequest"/> (set at composition) the failure comes here instead.
/// </summary>
public static class ApiGate
{
    public static void Use(WebApplication app) => app.Use(async (context, next) =>
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<AuthenticatedEndpoint>() is not null
            && !context.RequestServices.GetRequiredService<ApiAuthentication>().IsAuthorized(context))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var bodyType = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
        if (bodyType is not null)
        {
            context.Request.EnableBuffering(); // to read the body again if it does not bind
        }

        try
        {
            await next(context);
            if (context.Response.StatusCode == StatusCodes.Status415UnsupportedMediaType && !context.Response.HasStarted)
            {
                // Routing answers this one itself (the endpoint's accepted types do not match), with no body.
                await Refuse(context, StatusCodes.Status415UnsupportedMediaType, $"Content-Type '{context.Request.ContentType}' is not allowed: allowed application/json");
            }
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            var explained = bodyType is not null && e.StatusCode == StatusCodes.Status400BadRequest && e.InnerException is JsonException or null
                ? await ExplainBodyAsync(context, bodyType)
                : null;
            await Refuse(context, e.StatusCode, explained ?? e.InnerException?.Message ?? e.Message);
        }
    });

    private static Task Refuse(HttpContext context, int status, string message) =>
        Results.Json(new ApiError(message), ApiJsonContext.Default.ApiError, statusCode: status).ExecuteAsync(context);

    private static async Task<string?> ExplainBodyAsync(HttpContext context, Type bodyType)
    {
        string body;
        try
        {
            context.Request.Body.Position = 0;
            using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException)
        {
            return null; // the body itself could not be read: the framework's message says so
        }

        var options = context.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        return JsonBodyErrors.Explain(body, options.GetTypeInfo(bodyType));
    }
}
