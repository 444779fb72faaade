using System.Runtime.InteropServices;

namespace Appliance.Tests.Fixtures;

/// <summary>Real POSIX signals for real processes (Process.Kill only knows SIGKILL).</summary>
public static partial class Signals
{
    public const int SIGABRT = 6;
    public const int SIGKILL = 9;
    public const int SIGSEGV = 11;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    /// <summary>"SIGKILL" for 9; the number for a signal without a constant here.</summary>
    public static string Name(int signal) => signal switch
    {
        SIGABRT => nameof(SIGABRT),
        SIGKILL => nameof(SIGKILL),
        SIGSEGV => nameof(SIGSEGV),
        SIGTERM => nameof(SIGTERM),
        SIGCONT => nameof(SIGCONT),
        SIGSTOP => nameof(SIGSTOP),
        _ => $"signal {signal}",
    };

    public static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>True while a process with this pid exists (kill with signal 0).</summary>
    public static bool IsAlive(int pid) => Kill(pid, 0) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
