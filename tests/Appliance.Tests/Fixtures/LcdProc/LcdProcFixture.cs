using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Appliance.Tests.Fixtures.LcdProc;

/// <summary>
/// A real LCDd (Debian lcdproc) with the curses driver in a private, detached tmux server on a free loopback port.
/// The display is read with <c>tmux capture-pane</c>, keys are pressed with <c>tmux send-keys</c>.
/// Everything started here is killed in <see cref="Dispose"/>.
/// </summary>
public sealed class LcdProcFixture : IDisposable
{
    private const string Session = "lcd";
    private static readonly string[] LcddPaths = ["/usr/sbin/LCDd", "/usr/bin/LCDd"];
    private readonly string _socket;
    private readonly int _columns;
    private readonly int _rows;
    private int? _lcddPid;

    private LcdProcFixture(int port, int columns, int rows)
    {
        Port = port;
        _columns = columns;
        _rows = rows;
        Directory = Path.Combine(Path.GetTempPath(), $"appliance-lcdd-{port}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        _socket = $"appliance-test-lcdd-{port}";
    }

    public int Port { get; }

    public string Directory { get; }

    private string ErrorLog => Path.Combine(Directory, "lcdd.err");

    public static LcdProcFixture Start(int columns, int rows)
    {
        var fixture = new LcdProcFixture(FreePort(), columns, rows);
        try
        {
            fixture.Launch();
            return fixture;
        }
        catch
        {
            fixture.Dispose();
            throw;
        }
    }

    /// <summary>Stops LCDd (the client sees the connection drop) and starts a fresh one on the same port.</summary>
    public void Restart()
    {
        Stop();
        Launch();
    }

    /// <summary>
    /// Kills LCDd by pid (not by name) and then the private tmux server. SIGHUP from tmux alone is not enough:
    /// LCDd treats SIGHUP as "reload".
    /// </summary>
    private void Stop()
    {
        if (_lcddPid is { } pid)
        {
            try
            {
                using var lcdd = Process.GetProcessById(pid);
                lcdd.Kill();
                lcdd.WaitForExit(5000);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }

            _lcddPid = null;
        }

        TryTmux("kill-server");
    }

    private void Launch()
    {
        var lcdd = LcddPaths.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("LCDd not found: install the Debian package lcdproc (tools/dev/install-test-deps.sh)");
        // Debian installs drivers in the multiarch directory, e.g. /usr/lib/x86_64-linux-gnu/lcdproc/.
        var curses = System.IO.Directory.GetDirectories("/usr/lib").Append("/usr/lib")
            .Select(dir => Path.Combine(dir, "lcdproc", "curses.so"))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("the lcdproc curses driver (curses.so) was not found under /usr/lib");
        var template = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "LcdProc", "LCDd.conf.template"));
        var config = Path.Combine(Directory, "LCDd.conf");
        File.WriteAllText(config, template
            .Replace("@PORT@", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("@DRIVERPATH@", Path.GetDirectoryName(curses)!, StringComparison.Ordinal)
            .Replace("@SIZE@", $"{_columns}x{_rows}", StringComparison.Ordinal));

        // ESCDELAY: ncurses would otherwise wait 1 s after ESC for the rest of an escape sequence.
        Tmux("-f", "/dev/null", "new-session", "-d", "-s", Session, "-x", "80", "-y", "24", $"ESCDELAY=25 exec {lcdd} -c '{config}' -f 2>>'{ErrorLog}'");
        _lcddPid = int.Parse(Tmux("display-message", "-p", "-t", Session, "#{pane_pid}").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        WaitForPort(TimeSpan.FromSeconds(15));
    }

    private void WaitForPort(TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(20);
            }
        }

        throw new InvalidOperationException($"LCDd did not listen on 127.0.0.1:{Port} within {timeout}: {ReadErrors()}");
    }

    /// <summary>The LCD rows as shown in the tmux pane.</summary>
    public IReadOnlyList<string> Capture()
    {
        var lines = Tmux("capture-pane", "-p", "-t", Session).Split('\n');
        return lines.Take(_rows).Select(l => l.Length > _columns ? l[.._columns] : l).Select(l => l.TrimEnd()).ToList();
    }

    /// <summary>Presses a key on the curses "keypad": Up, Down, Left, Right, Enter, Escape.</summary>
    public void Press(string key) => Tmux("send-keys", "-t", Session, key);

    /// <summary>Polls the pane until <paramref name="condition"/> holds; fails with the last capture.</summary>
    /// <remarks>Async on purpose: a sleeping thread-pool thread would delay the panel's own socket and timer callbacks.</remarks>
    public async Task<IReadOnlyList<string>> WaitForScreenAsync(Func<IReadOnlyList<string>, bool> condition, TimeSpan? timeout = null)
    {
        var watch = Stopwatch.StartNew();
        IReadOnlyList<string> screen = [];
        while (watch.Elapsed < (timeout ?? TimeSpan.FromSeconds(10)))
        {
            screen = Capture();
            if (condition(screen))
            {
                return screen;
            }

            await Task.Delay(25);
        }

        Assert.Fail($"LCDd screen never matched; last capture:\n{string.Join('\n', screen)}\nLCDd reports: {ReadErrors()}");
        return screen;
    }

    /// <summary>LCDd's error and warning reports (ReportLevel 2): every stderr line outside its licence banner.</summary>
    public string ReadErrors()
    {
        if (!File.Exists(ErrorLog))
        {
            return "";
        }

        var lines = File.ReadAllLines(ErrorLog);
        var reports = new List<string>();
        var inBanner = false;
        foreach (var line in lines)
        {
            if (line.StartsWith("LCDd ", StringComparison.Ordinal) && line.Contains("LCDproc Protocol", StringComparison.Ordinal))
            {
                inBanner = true;
            }
            else if (inBanner && line.Contains("Boston, MA", StringComparison.Ordinal))
            {
                inBanner = false;
            }
            else if (!inBanner && line.Trim().Length > 0)
            {
                reports.Add(line);
            }
        }

        return string.Join('\n', reports);
    }

    public void AssertNoErrors() => Assert.True(ReadErrors().Length == 0, "LCDd reported: " + ReadErrors());

    private string Tmux(params string[] arguments)
    {
        var (exitCode, output, error) = RunTmux(arguments);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', arguments)} failed ({exitCode}): {error}");
        }

        return output;
    }

    private void TryTmux(params string[] arguments) => RunTmux(arguments);

    private ToolResult RunTmux(string[] arguments) => Tool.Run("tmux", ["-L", _socket, .. arguments]);

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose()
    {
        Stop();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }
}
