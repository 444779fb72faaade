using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Appliance.Core.Ports;
using Appliance.Hw.Bmc;

namespace Appliance.Tests.Fixtures;

/// <summary>
/// A real OpenIPMI <c>ipmi_sim</c> on a free loopback UDP port with its own state dir (copied from
/// Fixtures/IpmiSim). Chassis power controls a real "host" process. Dispose kills the simulator and the host.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // ipmi_sim and its shell scripts are Linux-only
public sealed class IpmiSimulator : IDisposable
{
    public const string User = "root";
    public const string Password = "calvin";

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private IpmiSimulator(string dir, int port, Process process)
    {
        Directory = dir;
        Port = port;
        _process = process;
        PasswordFile = WritePasswordFile(Path.Combine(dir, "bmc.password"), Password);
    }

    /// <summary>A BMC password file as an operator makes one (first line, mode 0600); returns its path.</summary>
    public static string WritePasswordFile(string path, string password)
    {
        File.WriteAllText(path, password + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    public string Directory { get; }

    public int Port { get; }

    public string PasswordFile { get; }

    /// <summary>Options for the IPMI adapter pointing at this simulator (cipher suite 3: the sim lacks 17).</summary>
    public BmcOptions Options(TimeSpan? timeout = null) => new()
    {
        Kind = BmcKind.Ipmi,
        Host = "127.0.0.1",
        Port = Port,
        User = User,
        PasswordFile = PasswordFile,
        CipherSuite = 3,
        CommandTimeout = timeout ?? TimeSpan.FromSeconds(10),
    };

    public static IpmiSimulator Start(string hostCommand = "sleep 100000")
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "IpmiSim");
        var dir = System.IO.Directory.CreateTempSubdirectory("ipmisim-").FullName;
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "state"));
        foreach (var name in new[] { "bmc.emu", "sdrs.emu", "fru.bin", "chassis-control.sh", "lan-control.sh" })
            File.Copy(Path.Combine(source, name), Path.Combine(dir, name));
        foreach (var script in new[] { "chassis-control.sh", "lan-control.sh" })
            File.SetUnixFileMode(Path.Combine(dir, script), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(dir, "temp.val"), "30\n");
        File.WriteAllText(Path.Combine(dir, "host.cmd"), hostCommand + "\n");
        var port = FreePort(SocketType.Dgram, ProtocolType.Udp);
        var consolePort = FreePort(SocketType.Stream, ProtocolType.Tcp);
        File.WriteAllText(Path.Combine(dir, "lan.conf"), File.ReadAllText(Path.Combine(source, "lan.conf.template"))
            .Replace("@PORT@", port.ToString(), StringComparison.Ordinal)
            .Replace("@CONSOLE_PORT@", consolePort.ToString(), StringComparison.Ordinal));

        var psi = new ProcessStartInfo("ipmi_sim", ["-c", "./lan.conf", "-f", "./bmc.emu", "-s", "./state", "-n"])
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(psi) ?? throw new InvalidOperationException("ipmi_sim did not start");
        var sim = new IpmiSimulator(dir, port, process);
        process.OutputDataReceived += (_, e) => sim.Append(e.Data);
        process.ErrorDataReceived += (_, e) => sim.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            sim.WaitUntilAnswering(TimeSpan.FromSeconds(10));
        }
        catch
        {
            sim.Dispose();
            throw;
        }

        return sim;
    }

    /// <summary>PID of the "host" process (started by chassis power on, or adopted), or null when there is none.</summary>
    public int? HostPid
    {
        get
        {
            var file = Path.Combine(Directory, "host.pid");
            // "<pid>", or "<pid> <kill sent>" while a killed host is not yet seen dead by a status read.
            return File.Exists(file) && int.TryParse(File.ReadAllText(file).Split(' ')[0].Trim(), out var pid) ? pid : null;
        }
    }

    /// <summary>
    /// Makes a process the test started itself (an agent) the simulated host: chassis power reads on while it
    /// lives, and power off SIGKILLs it and reads off only once it is dead.
    /// </summary>
    public void AdoptHost(int pid) => File.WriteAllText(Path.Combine(Directory, "host.pid"), pid.ToString(CultureInfo.InvariantCulture) + "\n");

    /// <summary>
    /// Each host killed by chassis power off: when the kill was sent, and when a power status read first found it dead
    /// (wall clock, from the chassis control script). Power reads on until then.
    /// </summary>
    public IReadOnlyList<(int Pid, DateTimeOffset KilledAt, DateTimeOffset SeenDeadAt)> HostDeaths
    {
        get
        {
            var file = Path.Combine(Directory, "host-off.log");
            if (!File.Exists(file))
                return [];
            return File.ReadAllLines(file)
                .Select(line => line.Split(' ')) // "<pid> <kill sent> <seen dead>", times as epoch seconds with a fraction
                .Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), EpochTime(p[1]), EpochTime(p[2])))
                .ToArray();
        }
    }

    /// <summary>Sets the polled temperature sensor (degrees C); ipmi_sim re-reads it every second.</summary>
    public void SetTemperature(int celsius) => File.WriteAllText(Path.Combine(Directory, "temp.val"), $"{celsius}\n");

    /// <summary>A process is gone once /proc has no such pid (kill(pid, 0) fails); a zombie awaiting the lazy PID-1 reaper is dead too.</summary>
    public static bool IsGone(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>The simulator's own output; errors there fail the test in Dispose.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        if (HostPid is { } host)
            KillHost(host);
        _process.Dispose();
        var output = Output;
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A host process may still be writing host.out; the temp dir is cleaned by the OS.
        }

        if (output.Contains("error", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException("ipmi_sim logged an error: " + output);
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    private void WaitUntilAnswering(TimeSpan limit)
    {
        // RMCP/ASF presence ping: answered without credentials, so it works whatever the user state.
        byte[] ping = [0x06, 0x00, 0xFF, 0x06, 0x00, 0x00, 0x11, 0xBE, 0x80, 0x01, 0x00, 0x00];
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 20 };
        var target = new IPEndPoint(IPAddress.Loopback, Port);
        var buffer = new byte[512];
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < limit)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"ipmi_sim exited with {_process.ExitCode}: {Output}");
            try
            {
                udp.SendTo(ping, target);
                var n = udp.Receive(buffer);
                if (n >= 9 && buffer[8] == 0x40)
                    return;
            }
            catch (SocketException)
            {
                // Not bound yet (ICMP port unreachable) or no answer within 20 ms: ping again.
            }
        }

        throw new InvalidOperationException($"ipmi_sim did not answer an RMCP ping within {limit}: {Output}");
    }

    /// <summary>"1795490951.663066" (bash's EPOCHREALTIME) as a time.</summary>
    private static DateTimeOffset EpochTime(string secondsDotFraction)
    {
        var parts = secondsDotFraction.Split('.');
        var ticks = long.Parse((parts[1] + "0000000")[..7], CultureInfo.InvariantCulture); // the fraction in 100 ns ticks
        return DateTimeOffset.FromUnixTimeSeconds(long.Parse(parts[0], CultureInfo.InvariantCulture)).AddTicks(ticks);
    }

    private static int FreePort(SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static void KillHost(int pid)
    {
        try
        {
            using var host = Process.GetProcessById(pid);
            host.Kill();
        }
        catch (ArgumentException)
        {
            // Not running.
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }
}
