namespace Appliance.Tests.Fixtures;

/// <summary>Locates the repository and the built executables the tests start as real processes.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>Release or Debug, matching the configuration the tests themselves were built in.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>
    /// The build output, or the file named by APPLIANCE_AGENT_EXE (e.g. the trimmed, ReadyToRun agent
    /// images/publish.sh ships), so the same tests and benchmarks can run against what is installed.
    /// </summary>
    public static string AgentExecutable => Environment.GetEnvironmentVariable("APPLIANCE_AGENT_EXE") is { Length: > 0 } shipped
        ? (File.Exists(shipped) ? Path.GetFullPath(shipped) : throw new FileNotFoundException($"APPLIANCE_AGENT_EXE names a missing file: {shipped}", shipped))
        : BuiltAgentExecutable;

    /// <summary>The agent as `make build` leaves it (framework-dependent, bin/CONFIG).</summary>
    public static string BuiltAgentExecutable => Executable("agent/Appliance.Agent", "appliance-agent");

    public static string CtlExecutable => Executable("tools/Appliance.Ctl", "appliancectl");

    /// <summary>A file checked in under tests/Appliance.Tests/Fixtures (configs the fixtures start real parts with).</summary>
    public static string Fixture(params string[] parts) =>
        Path.Combine([Root, "tests", "Appliance.Tests", "Fixtures", .. parts]);

    private static string Executable(string project, string name)
    {
        var path = Path.Combine(Root, project, "bin", Configuration, "net10.0", name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"build {project} first: {path} is missing", path);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Appliance.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Appliance.sln not found above " + AppContext.BaseDirectory);
    }
}
