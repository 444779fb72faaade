using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Serialization.Metadata;
using Appliance.Core.Api;

namespace Appliance.Ctl;

/// <summary>The agent could not be reached on any socket; the message names each socket tried and why.</summary>
public sealed class AgentUnreachableException(string message) : Exception(message);

/// <summary>The agent answered with an error; the message is its one-line reason.</summary>
public sealed class AgentCommandException(string message) : Exception(message);

/// <summary>
/// Talks to the running agent over its local socket only (never the store): the socket's file mode is
/// the admin check. Candidates in order: --socket, APPLIANCE_SOCKET, the production path, then the
/// development path that <c>make run</c> uses.
/// </summary>
public sealed class AgentClient : IDisposable
{
    public const string ProductionSocket = "/run/appliance/agent.sock";
    public const string DevelopmentSocket = "var/agent.sock";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;

    private AgentClient(string socketPath)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://agent/"), Timeout = RequestTimeout };
        _http.DefaultRequestHeaders.Accept.Add(new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue("application/json")); // some endpoints also speak text/plain
    }

    public string SocketPath { get; }

    /// <summary>Connects to the first socket that accepts a connection.</summary>
    /// <exception cref="AgentUnreachableException">No candidate accepted.</exception>
    public static AgentClient Connect(string? explicitSocket)
    {
        var failures = new List<string>();
        foreach (var path in Candidates(explicitSocket))
        {
            var reason = Probe(path);
            if (reason is null)
            {
                return new AgentClient(path);
            }

            failures.Add($"{path} ({reason})");
        }

        throw new AgentUnreachableException("agent not reachable: tried " + string.Join(", ", failures));
    }

    public async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, type, cancellationToken).ConfigureAwait(false);
    }

    public async Task<TResponse> PostAsync<TRequest, TResponse>(string path, TRequest body, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken)
    {
        using var content = JsonContent.Create(body, requestType);
        using var response = await _http.PostAsync(new Uri(path, UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, responseType, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POSTs an HA operation; a refusal (409) is an answer, not an error, and comes back as such.</summary>
    public async Task<Core.Failover.CommandResult> CommandAsync<TRequest>(string path, TRequest body, JsonTypeInfo<TRequest> requestType, CancellationToken cancellationToken)
    {
        using var content = JsonContent.Create(body, requestType);
        using var response = await _http.PostAsync(new Uri(path, UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            return (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.CommandResult, cancellationToken).ConfigureAwait(false))!;
        }

        return await ReadAsync(response, ApiJsonContext.Default.CommandResult, cancellationToken).ConfigureAwait(false);
    }

    public async Task<TResponse> PutAsync<TRequest, TResponse>(string path, TRequest body, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken)
    {
        using var content = JsonContent.Create(body, requestType);
        using var response = await _http.PutAsync(new Uri(path, UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, responseType, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A request without a body (DELETE, or a POST whose path says it all).</summary>
    public async Task<TResponse> SendAsync<TResponse>(HttpMethod method, string path, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, responseType, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var error = response.Content.Headers.ContentType?.MediaType == "application/json"
                ? (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiError, cancellationToken).ConfigureAwait(false))?.Error
                : null;
            throw new AgentCommandException(error ?? $"agent answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        return await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false)
            ?? throw new AgentCommandException("agent answered with an empty body");
    }

    private static IEnumerable<string> Candidates(string? explicitSocket)
    {
        if (!string.IsNullOrEmpty(explicitSocket))
        {
            yield return explicitSocket;
            yield break;
        }

        if (Environment.GetEnvironmentVariable("APPLIANCE_SOCKET") is { Length: > 0 } fromEnvironment)
        {
            yield return fromEnvironment;
            yield break;
        }

        yield return ProductionSocket;
        yield return DevelopmentSocket;
    }

    /// <summary>Null when the socket accepts a connection, else a short reason.</summary>
    private static string? Probe(string path)
    {
        if (!File.Exists(path))
        {
            return "no such socket";
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            return "permission denied: run as root or as a member of the socket's group";
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return "connection refused: is the agent running?";
        }
        catch (SocketException e)
        {
            return e.Message;
        }
    }
}
