using System.Collections.Concurrent;
using System.Diagnostics;

namespace Appliance.Tests.Fixtures;

/// <summary>A real mosquitto_sub/mosquitto_pub process (mosquitto-clients); killed in Dispose.</summary>
internal sealed class MosquittoClientProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private MosquittoClientProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public IReadOnlyCollection<string> OutputLines => _lines;

    public bool HasExited => _process.HasExited;

    public static MosquittoClientProcess Start(string executable, params string[] arguments)
    {
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new MosquittoClientProcess(Process.Start(start) ?? throw new InvalidOperationException($"{executable} did not start"));
    }

    /// <summary>SIGKILL: the process gets no chance to send DISCONNECT, exactly like a crash.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // flushes the asynchronous output readers
        return _process.ExitCode;
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
