using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Appliance.Tests.Fixtures;

/// <summary>
/// A real mosquitto on free loopback ports with the repo's config (Fixtures/Mosquitto): plain,
/// mutual-TLS (with and without the ACL) and username/password listeners with ACL. Passwords are random per broker and
/// reach mosquitto_passwd on stdin, never on a command line. <see cref="Kill"/> is SIGKILL;
/// <see cref="StartAsync"/> restarts on the same ports. Dispose kills the process and fails the
/// test if the broker logged an error that the test did not declare expected.
/// </summary>
internal sealed partial class MosquittoBroker : IAsyncDisposable
{
    private const string Executable = "/usr/sbin/mosquitto";
    private readonly List<Regex> _expectedErrors = [];
    private Process? _process;

    private MosquittoBroker(string directory)
    {
        Directory = directory;
        PlainPort = FreePort.Tcp();
        MutualTlsPort = FreePort.Tcp();
        MutualTlsOpenPort = FreePort.Tcp();
        AuthPort = FreePort.Tcp();
    }

    public string Directory { get; }

    public int PlainPort { get; }

    public int MutualTlsPort { get; }

    /// <summary>Mutual TLS without the ACL (the ACL names node-a / node-b; real agents have generated node ids).</summary>
    public int MutualTlsOpenPort { get; }

    public int AuthPort { get; }

    public string LogFile => Path.Combine(Directory, "broker.log");

    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";

    public IReadOnlyDictionary<string, string> PasswordFiles { get; private set; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> Passwords { get; private set; } = new Dictionary<string, string>();

    public static async Task<MosquittoBroker> StartNewAsync()
    {
        var pki = TestPki.Shared;
        var directory = System.IO.Directory.CreateTempSubdirectory("appliance-mosquitto-").FullName;
        var broker = new MosquittoBroker(directory);
        try
        {
            System.IO.Directory.CreateSymbolicLink(Path.Combine(directory, "certs"), pki.Directory);
            File.Copy(RepoPaths.Fixture("Mosquitto", "acl"), Path.Combine(directory, "acl"));
            await broker.WritePasswordsAsync("node-a", "node-b");
            var config = (await File.ReadAllTextAsync(RepoPaths.Fixture("Mosquitto", "mosquitto.conf.template")))
                .Replace("@DIR@", directory, StringComparison.Ordinal)
                .Replace("@P_PLAIN@", broker.PlainPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("@P_MTLS@", broker.MutualTlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("@P_MTLS_OPEN@", broker.MutualTlsOpenPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("@P_AUTH@", broker.AuthPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(directory, "mosquitto.conf"), config);
            await broker.StartAsync();
            return broker;
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }
    }

    /// <summary>Declares a log line the test provokes on purpose (e.g. a refused TLS handshake).</summary>
    public void ExpectLogError(string pattern) => _expectedErrors.Add(new Regex(pattern, RegexOptions.CultureInvariant));

    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("mosquitto is already running");
        }

        _process?.Dispose();
        var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Path.Combine(Directory, "mosquitto.conf"));
        var process = Process.Start(start) ?? throw new InvalidOperationException("mosquitto did not start");
        _process = process;
        var console = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        // Listeners open in config order before the broker runs, so the last (plain) one is enough;
        // probing the TLS port would make mosquitto log an OpenSSL error for the aborted handshake.
        if (!await TcpProbe.WaitUntilAcceptingAsync(AuthPort, TimeSpan.FromSeconds(10), () => process.HasExited))
        {
            var output = process.HasExited ? string.Join('\n', await console) : "(still running)";
            throw new InvalidOperationException($"mosquitto did not listen on {AuthPort}: {output}\n{Log}");
        }
    }

    /// <summary>SIGKILL: no wills are sent and clients see their sockets reset, as on a broker crash.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    /// <summary>
    /// SIGSTOP (<paramref name="frozen"/>) or SIGCONT: a frozen broker keeps every TCP connection open
    /// but answers nothing, the half-open case in which MQTTnet's connected flag stays true.
    /// </summary>
    public async Task SetFrozenAsync(bool frozen)
    {
        var process = _process ?? throw new InvalidOperationException("mosquitto is not running");
        using var kill = Process.Start("kill", [frozen ? "-STOP" : "-CONT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill {(frozen ? "-STOP" : "-CONT")} {process.Id} failed with {kill.ExitCode}");
        }
    }

    /// <summary>Waits for a line in the broker log (mosquitto flushes its log file per line).</summary>
    public async Task WaitForLogAsync(string pattern, TimeSpan timeout)
    {
        var regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Multiline);
        var deadline = DateTime.UtcNow + timeout;
        while (!regex.IsMatch(Log))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"mosquitto log has no line matching /{pattern}/ after {timeout}:\n{Log}");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            await SetFrozenAsync(false); // a stopped process only dies of SIGKILL once continued
        }

        Kill();
        _process?.Dispose();
        var unexpected = ErrorLine().Matches(Log)
            .Select(m => m.Value)
            .Where(line => !_expectedErrors.Any(e => e.IsMatch(line)))
            .ToList();
        System.IO.Directory.Delete(Directory, recursive: true);
        await Task.CompletedTask;
        if (unexpected.Count > 0)
        {
            throw new InvalidOperationException("mosquitto logged unexpected errors:\n" + string.Join('\n', unexpected));
        }
    }

    private async Task WritePasswordsAsync(params string[] users)
    {
        var passwd = Path.Combine(Directory, "passwd");
        var files = new Dictionary<string, string>();
        var passwords = new Dictionary<string, string>();
        foreach (var user in users)
        {
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
            var start = new ProcessStartInfo("mosquitto_passwd") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            if (!File.Exists(passwd))
            {
                start.ArgumentList.Add("-c");
            }

            start.ArgumentList.Add(passwd);
            start.ArgumentList.Add(user);
            using var process = Process.Start(start) ?? throw new InvalidOperationException("mosquitto_passwd did not start");
            await process.StandardInput.WriteAsync($"{password}\n{password}\n");
            process.StandardInput.Close();
            var stderr = await process.StandardError.ReadToEndAsync();
            await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"mosquitto_passwd failed for {user}: {stderr}");
            }

            var file = Path.Combine(Directory, $"{user}.password");
            await File.WriteAllTextAsync(file, password + "\n");
            files[user] = file;
            passwords[user] = password;
        }

        PasswordFiles = files;
        Passwords = passwords;
    }

    [GeneratedRegex(@"^.*\bError\b.*$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex ErrorLine();
}
