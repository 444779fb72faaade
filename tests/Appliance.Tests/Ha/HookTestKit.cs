using Appliance.Agent.Ha;

namespace Appliance.Tests.Ha;

/// <summary>Hook scripts on disk and a collector for results the hook worker reports.</summary>
internal static class HookTestKit
{
    public static string Script(string path, string body)
    {
        File.WriteAllText(path, "#!/bin/sh\n" + body);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>An agent's settings for one managed unit, web.service, under the fake <paramref name="systemctl"/>, with its files in <paramref name="temp"/>.</summary>
    public static Dictionary<string, string> ManagedWebService(Fixtures.TempDir temp, string systemctl, string strayCheckInterval) => new()
    {
        ["Appliance:Ha:Services:Kind"] = "Systemd",
        ["Appliance:Ha:Services:Units:0"] = "web.service",
        ["Appliance:Ha:Services:SystemctlPath"] = systemctl,
        ["Appliance:Ha:Services:DropInDirectory"] = temp.File("dropins"),
        ["Appliance:Ha:Services:StopListPath"] = temp.File("managed-units"),
        ["Appliance:Ha:Services:StrayCheckInterval"] = strayCheckInterval,
    };
}

/// <summary>Pass <see cref="Add"/> as the result callback; await <see cref="WaitAsync"/> for the expected count.</summary>
internal sealed class HookResults(int expected)
{
    private readonly List<HookResult> _results = [];
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Add(HookResult result)
    {
        lock (_results)
        {
            _results.Add(result);
            if (_results.Count == expected)
            {
                _done.SetResult();
            }
        }
    }

    public async Task<IReadOnlyList<HookResult>> WaitAsync()
    {
        await _done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        lock (_results)
        {
            return [.. _results];
        }
    }
}
