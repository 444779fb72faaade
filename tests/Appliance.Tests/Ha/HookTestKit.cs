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
