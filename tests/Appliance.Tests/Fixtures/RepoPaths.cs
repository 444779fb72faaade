namespace Appliance.Tests.Fixtures;

/// <summary>Locates files checked into the repository (fixture configs), from the test output directory.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string Fixture(params string[] parts) =>
        Path.Combine([Root.Value, "tests", "Appliance.Tests", "Fixtures", .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Appliance.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Appliance.sln not found above {AppContext.BaseDirectory}");
    }
}
