using System.Diagnostics;
using System.Runtime.Versioning;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Images;

/// <summary>
/// Checks images/systemd/appliance-agent.service with the real systemd-analyze, offline, inside a
/// throw-away root: the host's unit library is copied in (so targets and dependencies resolve) and an
/// executable placeholder sits at the ExecStart path (verify refuses a missing binary). Nothing
/// outside the temp directory is touched, so it runs unprivileged and in parallel.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class AgentServiceUnitTests : IDisposable
{
    private const string UnitName = "appliance-agent.service";
    private readonly string _root = Directory.CreateTempSubdirectory("unit-root-").FullName;

    [Fact]
    public void Verify_reports_nothing_for_the_shipped_unit()
    {
        var unitText = File.ReadAllText(ShippedUnitPath());
        StageRoot(unitText, withExecutable: true);

        var (exit, output) = Run("systemd-analyze", "verify", $"--root={_root}", UnitName);

        // verify exits 0 even for unknown keys; any line of output is a finding.
        Assert.True(exit == 0 && output.Length == 0, $"systemd-analyze verify exit {exit}:\n{output}");
    }

    [Fact]
    public void Verify_reports_a_misspelt_key_and_a_missing_binary()
    {
        var unitText = File.ReadAllText(ShippedUnitPath()).Replace("NotifyAccess=main", "NotifyAcces=main", StringComparison.Ordinal);
        StageRoot(unitText, withExecutable: false);

        var (_, output) = Run("systemd-analyze", "verify", $"--root={_root}", UnitName);

        Assert.Contains("Unknown key 'NotifyAcces'", output, StringComparison.Ordinal);
        Assert.Contains("is not executable", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Security_exposure_stays_in_the_ok_band()
    {
        StageRoot(File.ReadAllText(ShippedUnitPath()), withExecutable: true);

        // Exposure is scored 0.0 (locked down) to 10.0; --threshold takes it times ten. The unit scores
        // 3.0 with root + 3 capabilities; anything above 3.5 means a hardening line was lost.
        var (exit, output) = Run("systemd-analyze", "security", "--offline=true", $"--root={_root}", "--threshold=35", "--no-pager", UnitName);

        Assert.True(exit == 0, $"exposure above 3.5 (exit {exit}):\n{output}");
        Assert.Contains("Overall exposure level for appliance-agent.service", output, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void StageRoot(string unitText, bool withExecutable)
    {
        var hostUnits = Directory.Exists("/usr/lib/systemd/system") ? "/usr/lib/systemd/system" : "/lib/systemd/system";
        CopyTree(hostUnits, Path.Combine(_root, "usr/lib/systemd/system"));
        var unitDir = Directory.CreateDirectory(Path.Combine(_root, "etc/systemd/system")).FullName;
        File.WriteAllText(Path.Combine(unitDir, UnitName), unitText);
        if (withExecutable)
        {
            var execStart = unitText.Split('\n').Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..].Split(' ')[0];
            var binary = Path.Combine(_root, execStart.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(binary)!);
            File.WriteAllText(binary, "#!/bin/sh\n");
            File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            var target = Path.Combine(to, entry.Name);
            if (entry.LinkTarget is { } link)
            {
                File.CreateSymbolicLink(target, link);
            }
            else if (entry is DirectoryInfo dir)
            {
                CopyTree(dir.FullName, target);
            }
            else
            {
                File.Copy(entry.FullName, target);
            }
        }
    }

    private static string ShippedUnitPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "images", "systemd", UnitName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"images/systemd/{UnitName} not found above {AppContext.BaseDirectory}");
    }

    private static (int Exit, string Output) Run(string file, params string[] args)
    {
        ToolResult result = Tool.Run(file, args, new Dictionary<string, string> { ["SYSTEMD_COLORS"] = "0" });
        return (result.ExitCode, (result.Output + result.Error).Trim());
    }
}
