namespace Appliance.Tests.Fixtures;

/// <summary>Locates the repository and the built executables the tests start as real processes.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>Release or Debug, matching the configuration the tests themselves were built in.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string AgentExecutable => Executable("agent/Appliance.Agent", "appliance-agent");

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
