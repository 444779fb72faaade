using System.Diagnostics;

namespace Appliance.Tests.Fixtures;

/// <summary>
/// Throwaway CA, server and node client certificates made by openssl (Fixtures/Mosquitto/gen-certs.sh)
/// once per test run in a private temp dir, deleted when the test process exits.
/// </summary>
internal sealed class TestPki
{
    private static readonly Lazy<TestPki> SharedInstance = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    private TestPki(string directory) => Directory = directory;

    public static TestPki Shared => SharedInstance.Value;

    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.crt");

    public string OtherCaFile => Path.Combine(Directory, "other-ca.crt");

    public string ServerCertificateFile => Path.Combine(Directory, "server.crt");

    public string ServerKeyFile => Path.Combine(Directory, "server.key");

    public string ClientCertificateFile(string node) => Path.Combine(Directory, $"{node}.crt");

    public string ClientKeyFile(string node) => Path.Combine(Directory, $"{node}.key");

    private static TestPki Create()
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("appliance-pki-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => System.IO.Directory.Delete(directory, recursive: true);
        ToolResult generated = Tool.Run("bash", [RepoPaths.Fixture("Mosquitto", "gen-certs.sh"), directory]);
        if (generated.ExitCode != 0)
        {
            throw new InvalidOperationException($"gen-certs.sh failed ({generated.ExitCode}): {generated.Error}");
        }

        return new TestPki(directory);
    }
}
