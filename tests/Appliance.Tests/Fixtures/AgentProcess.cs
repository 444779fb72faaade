using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Appliance.Tests.Fixtures;

/// <summary>
/// A real appliance-agent process on a temp data dir, its own socket and a free TCP port. Killed in
/// DisposeAsync whatever happened. Its output is kept so tests can assert on it and fail on logged errors.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly Dictionary<string, string> _settings;
    private readonly Dictionary<string, string> _environment;
    private readonly string _executable;
    private Process? _process;

    /// <param name="executable">The agent binary; <see cref="RepoPaths.AgentExecutable"/> when null.</param>
    public AgentProcess(string dataDir, IDictionary<string, string>? settings = null, IDictionary<string, string>? environment = null, string? executable = null)
    {
        _executable = executable ?? RepoPaths.AgentExecutable;
        DataDir = dataDir;
        SocketPath = Path.Combine(dataDir, "agent.sock");
        TcpPort = FreePort.Tcp();
        _settings = new Dictionary<string, string>(settings ?? new Dictionary<string, string>())
        {
            ["Appliance:DataDir"] = dataDir,
            ["Appliance:Api:SocketPath"] = SocketPath,
            ["Appliance:Api:TcpPort"] = TcpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // The broker's default (1883) is one per machine: parallel tests' agents must each have their own.
            ["Appliance:Ha:PeerLink:EmbeddedBroker:Port"] = FreePort.Tcp().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            _settings[key] = value; // explicit settings win, so tests can feed bad values
        }

        _environment = new Dictionary<string, string>(environment ?? new Dictionary<string, string>());
    }

    public string DataDir { get; }

    public string SocketPath { get; }

    public int TcpPort { get; }

    public int Pid => _process?.Id ?? throw new InvalidOperationException("not started");

    public IReadOnlyCollection<string> Output => _output;

    public string OutputText => string.Join('\n', _output);

    public bool HasExited => _process?.HasExited ?? true;

    public int ExitCode => _process!.ExitCode;

    public Uri TcpBase => new($"http://127.0.0.1:{TcpPort}/");

    /// <summary>Arguments passed before the settings (e.g. <c>--config FILE</c>).</summary>
    public List<string> ExtraArguments { get; } = [];

    /// <summary>A command that execs the agent (e.g. <c>ip netns exec NS</c>): same pid, another environment.</summary>
    public IReadOnlyList<string> Launcher { get; init; } = [];

    public void Start()
    {
        var info = new ProcessStartInfo(Launcher.Count > 0 ? Launcher[0] : _executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in Launcher.Skip(1).Concat(Launcher.Count > 0 ? [_executable] : []))
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var argument in ExtraArguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in _settings)
        {
            info.ArgumentList.Add($"--{key}={value}");
        }

        // A test run must not pick up this machine's own agent configuration or service environment.
        info.Environment.Remove("NOTIFY_SOCKET");
        info.Environment.Remove("WATCHDOG_USEC");
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in _environment)
        {
            info.Environment[key] = value;
        }

        _output.Clear();
        _process = Process.Start(info) ?? throw new InvalidOperationException("appliance-agent did not start");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>
    /// Waits until the local socket accepts connections and /check_health answers, healthy or not: a paired node
    /// still looking for its peer is up but answers 500 (Passive and not synced).
    /// </summary>
    public async Task WaitReadyAsync(TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        using var http = CreateTcpClient();
        while (deadline.Elapsed < limit)
        {
            if (HasExited)
            {
                throw new InvalidOperationException($"agent exited with {ExitCode} before it was ready:\n{OutputText}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("check_health", UriKind.Relative));
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.InternalServerError && File.Exists(SocketPath))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"agent not ready after {limit}:\n{OutputText}");
    }

    /// <summary>An HTTP client over the agent's Unix socket (the appliancectl path: authenticated by file mode).</summary>
    public HttpClient CreateLocalClient()
    {
        var path = SocketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://agent/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>
    /// What became of this agent after a request to it broke off without an answer, with its complete output. A
    /// killed agent still reads HasExited=false for a few milliseconds (the runtime reaps it on SIGCHLD, later under
    /// load) and its last lines may still be in the pipe, so this waits for the exit first: a death reads as its exit
    /// code or signal, a live agent (Kestrel itself closed the connection) as whether it still serves.
    /// </summary>
    public async Task<string> DescribeLostAnswerAsync(TimeSpan settle)
    {
        using var wait = new CancellationTokenSource(settle);
        try
        {
            await _process!.WaitForExitAsync(wait.Token); // returns once the output pipes are drained to EOF too
        }
        catch (OperationCanceledException)
        {
            return $"still running {settle.TotalSeconds:0.#} s later, /check_health {await HealthAfterLostAnswerAsync()}\n{OutputText}";
        }

        // The runtime reports a child killed by signal N as exit code 128 + N.
        var fate = ExitCode > 128 ? $"killed by {Signals.Name(ExitCode - 128)} (exit code {ExitCode})" : $"exited with {ExitCode}";
        return $"{fate}\n{OutputText}";
    }

    private async Task<string> HealthAfterLostAnswerAsync()
    {
        using var http = CreateTcpClient();
        http.Timeout = TimeSpan.FromSeconds(5);
        try
        {
            using var response = await http.GetAsync(new Uri("check_health", UriKind.Relative));
            return $"answers {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return $"does not answer ({e.Message})";
        }
    }

    public HttpClient CreateTcpClient() => new() { BaseAddress = TcpBase, Timeout = TimeSpan.FromSeconds(30) };

    public void Signal(int signal) => Signals.Send(Pid, signal);

    /// <summary>SIGKILL, as a crash or a power cut: no offline state, no clean DISCONNECT; returns once it is gone.</summary>
    public async Task KillAsync()
    {
        Signal(Signals.SIGKILL);
        await WaitForExitAsync(TimeSpan.FromSeconds(10));
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process!.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Fails when the agent logged at Error or Critical level (console "fail:"/"crit:" prefixes).</summary>
    public void AssertNoErrorsLogged()
    {
        var errors = _output.Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal)).ToArray();
        Assert.True(errors.Length == 0, "agent logged errors:\n" + OutputText);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
    }
}
