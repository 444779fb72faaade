using System.Diagnostics;
using Appliance.Agent.Ha;
using Appliance.Agent.Store;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Hw.Processes;
using Appliance.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.Tests.Ha;

/// <summary>Real /bin/sh hook scripts run through the production process runner.</summary>
public sealed class TransitionHooksTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly List<int> _pidsToKill = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        foreach (int pid in _pidsToKill.Where(IsRunning))
        {
            Signals.Send(pid, Signals.SIGKILL);
        }

        _dir.Dispose();
        return Task.CompletedTask;
    }

    private string Script(string name, string body) => HookTestKit.Script(_dir.File(name), body);

    private static TransitionHooks Hooks(HooksOptions options, Action<HookResult>? onResult = null)
    {
        Assert.Empty(options.Validate());
        return new TransitionHooks(options, new ProcessCommandRunner(), NullLogger<TransitionHooks>.Instance, onResult ?? (_ => { }));
    }

    [Fact]
    public async Task The_hook_gets_its_fixed_arguments_then_role_epoch_and_cause_as_argv()
    {
        string argv = _dir.File("argv");
        string hook = Script("dns-swing", $"for a in \"$@\"; do printf '%s\\n' \"$a\" >> {argv}; done\necho \"trigger=$APPLIANCE_HA_TRIGGER\"\n");
        await using TransitionHooks hooks = Hooks(new HooksOptions { OnActive = new HookCommand { Path = hook, Arguments = ["--zone", "example.test"] } });
        string owned = _dir.File("owned");
        string cause = $"peer lost; $(touch {owned}) `touch {owned}` *";

        HookResult result = Assert.Single(await hooks.RunAsync(HookTrigger.Active, HaRole.Active, 42, cause, CancellationToken.None));

        Assert.True(result.Ok, result.Summary);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("OnActive", result.Hook);
        Assert.Equal("trigger=Active\n", result.StandardOutput);
        Assert.Equal(["--zone", "example.test", "Active", "42", cause], await File.ReadAllLinesAsync(argv));
        Assert.False(File.Exists(owned));
    }

    [Fact]
    public async Task The_exit_code_and_stderr_are_recorded()
    {
        string hook = Script("fails", "echo 'cannot reach the DNS API' >&2\nexit 3\n");
        await using TransitionHooks hooks = Hooks(new HooksOptions { OnPassive = new HookCommand { Path = hook } });

        HookResult result = Assert.Single(await hooks.RunAsync(HookTrigger.Passive, HaRole.Passive, 7, "demoted", CancellationToken.None));

        Assert.False(result.Ok);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("cannot reach the DNS API\n", result.StandardError);
        Assert.Equal($"OnPassive {hook}: exit code 3: cannot reach the DNS API", result.Summary);
    }

    [Fact]
    public async Task Output_beyond_the_limit_is_truncated_and_the_hook_still_finishes()
    {
        string hook = Script("chatty", "i=0\nwhile [ $i -lt 300 ]; do echo 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'; i=$((i+1)); done\nexit 0\n");
        await using TransitionHooks hooks = Hooks(new HooksOptions { OutputLimitKb = 1, OnOff = new HookCommand { Path = hook } });

        HookResult result = Assert.Single(await hooks.RunAsync(HookTrigger.Off, HaRole.Off, 1, "pair broken", CancellationToken.None));

        Assert.Equal(0, result.ExitCode);
        Assert.True(result.OutputTruncated);
        Assert.Equal(1024, result.StandardOutput.Length);
    }

    [Fact]
    public async Task A_hook_that_outlives_the_timeout_is_killed_with_its_children()
    {
        string shellPid = _dir.File("shell.pid");
        string childPid = _dir.File("child.pid");
        string hook = Script("hangs", $"echo $$ > {shellPid}\nsleep 60 &\necho $! > {childPid}\nwait\n");
        // 3 s: on a loaded machine bash may need well over a second to start and write both pid files.
        await using TransitionHooks hooks = Hooks(new HooksOptions { Timeout = TimeSpan.FromSeconds(3), OnFailoverPending = new HookCommand { Path = hook } });

        var clock = Stopwatch.StartNew();
        HookResult result = Assert.Single(await hooks.RunAsync(HookTrigger.FailoverPending, HaRole.FailoverPending, 3, "waiting for operator", CancellationToken.None));
        clock.Stop();

        int[] pids = [int.Parse(await File.ReadAllTextAsync(shellPid)), int.Parse(await File.ReadAllTextAsync(childPid))];
        _pidsToKill.AddRange(pids);
        Assert.True(result.TimedOut);
        Assert.Null(result.ExitCode);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(12));
        Assert.StartsWith($"OnFailoverPending {hook}: killed at its 3 s timeout (after ", result.Summary, StringComparison.Ordinal);
        foreach (int pid in pids)
        {
            Assert.True(await GoneWithinAsync(pid, TimeSpan.FromSeconds(5)), $"pid {pid} still runs after the hook timeout");
        }
    }

    [Fact]
    public async Task A_hook_that_exits_leaving_a_child_on_its_output_returns_at_once()
    {
        string childPid = _dir.File("child.pid");
        string hook = Script("daemonizes", $"sleep 60 &\necho $! > {childPid}\necho started\nexit 0\n");
        await using TransitionHooks hooks = Hooks(new HooksOptions { Timeout = TimeSpan.FromSeconds(5), OnActive = new HookCommand { Path = hook } });

        HookResult result = Assert.Single(await hooks.RunAsync(HookTrigger.Active, HaRole.Active, 2, "promoted", CancellationToken.None));
        _pidsToKill.Add(int.Parse(await File.ReadAllTextAsync(childPid)));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("started\n", result.StandardOutput);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(4), $"took {result.Elapsed}");
    }

    [Fact]
    public async Task A_missing_hook_is_a_clear_error_result()
    {
        string missing = _dir.File("no-such-hook");
        await using TransitionHooks hooks = Hooks(new HooksOptions { OnConflict = new HookCommand { Path = missing } });

        HookResult result = Assert.Single(await hooks.RunAsync(HookTrigger.Conflict, HaRole.Active, 9, "both Active", CancellationToken.None));

        Assert.False(result.Ok);
        Assert.Null(result.ExitCode);
        Assert.Equal($"'{missing}' does not exist", result.Error);
        Assert.Equal($"OnConflict {missing}: did not start: '{missing}' does not exist", result.Summary);
    }

    [Fact]
    public async Task A_hook_without_execute_permission_is_a_clear_error_result()
    {
        string hook = Script("not-executable", "exit 0\n");
        File.SetUnixFileMode(hook, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await using TransitionHooks hooks = Hooks(new HooksOptions { OnActive = new HookCommand { Path = hook } });

        HookResult result = Assert.Single(await hooks.RunAsync(HookTrigger.Active, HaRole.Active, 1, "promoted", CancellationToken.None));

        Assert.Null(result.ExitCode);
        Assert.StartsWith($"'{hook}' could not be executed", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Posted_transitions_run_in_order_specific_hook_then_notify()
    {
        string log = _dir.File("log");
        string specific = Script("on-active", $"echo \"on-active $*\" >> {log}\n");
        string notify = Script("notify", $"echo \"notify $APPLIANCE_HA_TRIGGER $*\" >> {log}\n");
        var collected = new HookResults(3);
        await using TransitionHooks hooks = Hooks(
            new HooksOptions { OnActive = new HookCommand { Path = specific }, Notify = new HookCommand { Path = notify } }, collected.Add);

        hooks.Post(new HaTransition(HaRole.Passive, HaRole.Active, 5, "peer lost"));
        hooks.Post(new HaTransition(HaRole.Active, HaRole.Passive, 6, "planned switch"));
        IReadOnlyList<HookResult> results = await collected.WaitAsync();

        Assert.Equal(["OnActive", "Notify", "Notify"], results.Select(r => r.Hook));
        Assert.All(results, r => Assert.True(r.Ok, r.Summary));
        Assert.Equal(["on-active Active 5 peer lost", "notify Active Active 5 peer lost", "notify Passive Passive 6 planned switch"],
            await File.ReadAllLinesAsync(log));
    }

    [Fact]
    public async Task A_conflict_hook_gets_the_role_and_epoch_of_the_last_transition()
    {
        string log = _dir.File("log");
        string notify = Script("notify", $"echo \"$APPLIANCE_HA_TRIGGER $*\" >> {log}\n");
        var collected = new HookResults(2);
        await using TransitionHooks hooks = Hooks(new HooksOptions { Notify = new HookCommand { Path = notify } }, collected.Add);

        hooks.Post(new HaTransition(HaRole.Passive, HaRole.Active, 4, "peer lost"));
        hooks.PostConflict("both Active");

        Assert.All(await collected.WaitAsync(), r => Assert.True(r.Ok, r.Summary));
        Assert.Equal(["Active Active 4 peer lost", "Conflict Active 4 both Active"], await File.ReadAllLinesAsync(log));
    }

    [Fact]
    public async Task A_trigger_without_a_configured_hook_runs_nothing()
    {
        await using TransitionHooks hooks = Hooks(new HooksOptions { OnActive = new HookCommand { Path = "/bin/true" } });

        Assert.Empty(await hooks.RunAsync(HookTrigger.Passive, HaRole.Passive, 2, "demoted", CancellationToken.None));
    }

    [Fact]
    public async Task A_posted_hook_s_stdout_and_stderr_are_recorded_in_the_store_history()
    {
        string hook = Script("dns-swing", "echo 'zone example.test now points at 192.0.2.10'\necho 'TTL above 60 s' >&2\n");
        using AgentStore store = AgentStore.Open(_dir.File("data"), 100, null, TimeProvider.System);

        HistoryEntry entry = await RecordedHookAsync(store, new HooksOptions { OnActive = new HookCommand { Path = hook } });

        Assert.Equal(
            $"OnActive {hook}: exit code 0: TTL above 60 s\nstdout:\nzone example.test now points at 192.0.2.10\nstderr:\nTTL above 60 s",
            entry.Message);
        Assert.Equal("ha transition", entry.Cause);
    }

    [Fact]
    public async Task Hook_output_in_history_is_cut_at_OutputLimitKb_and_marked()
    {
        string line = new('x', 49);
        string hook = Script("chatty", $"i=0\nwhile [ $i -lt 300 ]; do echo '{line}'; i=$((i+1)); done\n");
        using AgentStore store = AgentStore.Open(_dir.File("data"), 100, null, TimeProvider.System);

        HistoryEntry entry = await RecordedHookAsync(store, new HooksOptions { OutputLimitKb = 1, OnActive = new HookCommand { Path = hook } });

        string kept = string.Concat(Enumerable.Repeat(line + "\n", 300))[..1024];
        Assert.Equal($"OnActive {hook}: exit code 0\nstdout:\n{kept}\n[output truncated: only the first 1 KiB of each stream kept]", entry.Message);
    }

    /// <summary>Posts a promotion through the hook worker, recording as the agent does, and returns the one history row.</summary>
    private static async Task<HistoryEntry> RecordedHookAsync(AgentStore store, HooksOptions options)
    {
        var collected = new HookResults(1);
        await using (TransitionHooks hooks = Hooks(options, result =>
        {
            HaEventsSink.RecordHook(store, result);
            collected.Add(result);
        }))
        {
            hooks.Post(new HaTransition(HaRole.Passive, HaRole.Active, 5, "peer lost"));
            await collected.WaitAsync();
        }

        return Assert.Single(store.ReadHistory(10), e => e.Kind == HaEventsSink.HookHistoryKind);
    }

    /// <summary>A zombie (killed, not yet reaped by its new parent) no longer runs.</summary>
    private static bool IsRunning(int pid)
    {
        if (!Signals.IsAlive(pid))
        {
            return false;
        }

        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<bool> GoneWithinAsync(int pid, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (IsRunning(pid))
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }
}
