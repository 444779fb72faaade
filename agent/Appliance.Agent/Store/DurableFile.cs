using System.Runtime.InteropServices;

namespace Appliance.Agent.Store;

/// <summary>fsync helpers: a rename is durable only once its directory entry is on disk.</summary>
internal static partial class DurableFile
{
    public static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // NTFS journals metadata; there is no directory handle to flush.
        }

        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory '{directory}' to fsync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
