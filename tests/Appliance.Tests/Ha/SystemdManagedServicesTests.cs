using Appliance.Agent.Ha;
using Appliance.Hw.Processes;
using Appliance.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.Tests.Ha;

public sealed class SystemdManagedServicesTests : IDisposable
{
    private const string Systemctl = "/usr/bin/systemctl";
    private readonly TempDir _dir = new();
    private readonly RecordingRunner _runner = new();

    private string StopList => Path.Combine(_dir.Path, "run-appliance", "managed-units");

    public void Dispose() => _dir.Dispose();

    private ManagedServices Services(params string[] units)
    {
        var options = new ManagedServicesOptions { Kind = ManagedServicesKind.Systemd, Units = [.. units], DropInDirectory = _dir.Path, StopListPath = StopList };
        Assert.Empty(options.Validate());
        return ManagedServices.Create(options, _runner, NullLoggerFactory.Instance);
    }

    [Fact]
    public async Task Start_runs_systemctl_start_per_unit_in_configured_order()
    {
        await Services("db.service", "app.service", "web.target").StartAsync(CancellationToken.None);

        Assert.Equal(
            [$"{Systemctl} start db.service", $"{Systemctl} start app.service", $"{Systemctl} start web.target"],
            _runner.Calls);
    }

    [Fact]
    public async Task Stop_runs_systemctl_stop_in_reverse_order()
    {
        await Services("db.service", "app.service", "web.target").StopAsync(CancellationToken.None);

        Assert.Equal(
            [$"{Systemctl} stop web.target", $"{Systemctl} stop app.service", $"{Systemctl} stop db.service"],
            _runner.Calls);
    }

    [Fact]
    public async Task A_failing_start_is_reported_and_the_later_units_are_still_started()
    {
        _runner.Answer("start app.service", RecordingRunner.Exit(1, stderr:
            "Job for app.service failed because the control process exited with error code.\nSee \"systemctl status app.service\" for details.\n"));
        ManagedServices services = Services("db.service", "app.service", "web.service");

        var error = await Assert.ThrowsAsync<ManagedServicesException>(() => services.StartAsync(CancellationToken.None));

        Assert.Equal(3, _runner.Calls.Count);
        Assert.Equal($"{Systemctl} start web.service", _runner.Calls[2]);
        Assert.Contains("start failed for 1 of 3 managed services: app.service (exit code 1: Job for app.service failed", error.Message, StringComparison.Ordinal);
        Assert.Equal(error.Message, services.Problem);

        _runner.Answer("start app.service", RecordingRunner.Exit(0));
        await services.StartAsync(CancellationToken.None);
        Assert.Null(services.Problem);
    }

    [Fact]
    public async Task A_failing_stop_still_stops_the_earlier_units()
    {
        _runner.Answer("stop app.service", RecordingRunner.Exit(1, stderr: "Failed to stop app.service: Access denied\n"));
        ManagedServices services = Services("db.service", "app.service", "web.service");

        var error = await Assert.ThrowsAsync<ManagedServicesException>(() => services.StopAsync(CancellationToken.None));

        Assert.Equal($"{Systemctl} stop db.service", _runner.Calls[^1]);
        Assert.Contains("app.service (exit code 1: Failed to stop app.service: Access denied)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("active\n", 0, UnitActivity.Running)]
    [InlineData("reloading\n", 0, UnitActivity.Running)]
    [InlineData("activating\n", 3, UnitActivity.Running)]
    [InlineData("deactivating\n", 3, UnitActivity.Running)]
    [InlineData("inactive\n", 3, UnitActivity.Stopped)]
    [InlineData("failed\n", 3, UnitActivity.Stopped)]
    [InlineData("unknown\n", 4, UnitActivity.Stopped)]
    [InlineData("", 1, UnitActivity.Unknown)]
    [InlineData("Failed to connect to bus: No such file or directory\n", 1, UnitActivity.Unknown)]
    public void Is_active_output_forms_are_parsed(string stdout, int exitCode, UnitActivity expected) =>
        Assert.Equal(expected, SystemdUnitControl.ParseIsActive(RecordingRunner.Exit(exitCode, stdout)));

    [Fact]
    public void An_is_active_that_was_killed_proves_nothing() =>
        Assert.Equal(UnitActivity.Unknown, SystemdUnitControl.ParseIsActive(
            new CommandOutcome(null, "", "", TimedOut: true, OutputTruncated: false, StartError: null, TimeSpan.FromSeconds(15))));

    [Fact]
    public async Task Verify_on_the_passive_stops_a_unit_started_by_hand_and_reports_it()
    {
        _runner.Answer("is-active db.service", RecordingRunner.Exit(3, "inactive\n"))
            .Answer("is-active app.service", RecordingRunner.Exit(0, "active\n"), RecordingRunner.Exit(3, "inactive\n"));
        ManagedServices services = Services("db.service", "app.service");

        StoppedCheck check = await services.CheckStoppedAsync(CancellationToken.None);

        Assert.True(check.AllStopped);
        Assert.Equal(["app.service"], check.StrayStopped);
        Assert.Equal(
            [$"{Systemctl} is-active app.service", $"{Systemctl} stop app.service", $"{Systemctl} is-active app.service", $"{Systemctl} is-active db.service"],
            _runner.Calls);
        Assert.Null(services.Problem);
    }

    [Fact]
    public async Task Verify_fails_and_names_the_unit_when_it_keeps_running()
    {
        _runner.Answer("is-active app.service", RecordingRunner.Exit(0, "active\n"))
            .Answer("stop app.service", RecordingRunner.Exit(1, stderr: "Failed to stop app.service: Access denied\n"));
        ManagedServices services = Services("app.service");

        Assert.False(await services.VerifyStoppedAsync(CancellationToken.None));

        Assert.Contains("app.service (exit code 0, active; stop: exit code 1: Failed to stop app.service: Access denied)", services.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unanswerable_query_counts_as_not_stopped()
    {
        _runner.Answer("is-active app.service", RecordingRunner.Exit(1, stderr: "Failed to connect to bus: No such file or directory\n"));

        StoppedCheck check = await Services("app.service").CheckStoppedAsync(CancellationToken.None);

        Assert.Equal(UnitActivity.Unknown, Assert.Single(check.NotStopped).Activity);
    }

    [Fact]
    public async Task Start_of_the_agent_installs_bindsto_drop_ins_reloads_then_stops_everything()
    {
        var filesAtReload = new List<string>();
        _runner.OnCall = arguments =>
        {
            if (arguments == "daemon-reload")
            {
                filesAtReload.AddRange(Directory.EnumerateFiles(_dir.Path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            }
        };
        _runner.Answer("is-active db.service", RecordingRunner.Exit(3, "inactive\n"))
            .Answer("is-active app@blue.service", RecordingRunner.Exit(3, "failed\n"));

        StoppedCheck check = await Services("db.service", "app@blue.service").EnsureStoppedAtStartAsync(CancellationToken.None);

        Assert.True(check.AllStopped);
        Assert.Empty(check.StrayStopped);
        Assert.Equal(
        [
            $"{Systemctl} daemon-reload",
            $"{Systemctl} stop app@blue.service", $"{Systemctl} stop db.service",
            $"{Systemctl} is-active app@blue.service", $"{Systemctl} is-active db.service",
        ], _runner.Calls);
        string[] dropIns =
        [
            Path.Combine(_dir.Path, "app@blue.service.d", "50-appliance-agent.conf"),
            Path.Combine(_dir.Path, "db.service.d", "50-appliance-agent.conf"),
        ];
        Assert.Equal(dropIns, filesAtReload.Where(f => f.EndsWith(SystemdUnitControl.DropInName, StringComparison.Ordinal)));
        foreach (string dropIn in dropIns)
        {
            Assert.Equal("[Unit]\nBindsTo=appliance-agent.service\nAfter=appliance-agent.service\n", await File.ReadAllTextAsync(dropIn));
        }

        // What the agent unit's ExecStopPost= hands to systemctl: unit names verbatim, one per line.
        Assert.Equal("db.service\napp@blue.service\n", await File.ReadAllTextAsync(StopList));
    }

    [Fact]
    public async Task The_stop_list_keeps_unit_names_verbatim()
    {
        _runner.Answer("is-active app\\x2dweb.service", RecordingRunner.Exit(3, "inactive\n"));

        await Services("app\\x2dweb.service").EnsureStoppedAtStartAsync(CancellationToken.None);

        Assert.Equal("app\\x2dweb.service\n", await File.ReadAllTextAsync(StopList));
    }

    [Fact]
    public async Task Drop_in_directories_get_systemds_modes_whatever_the_umask_left()
    {
        // The agent's umask is narrowed for its API socket; a directory made under it has no search bit.
        string directory = Path.Combine(_dir.Path, "db.service.d");
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        _runner.Answer("is-active db.service", RecordingRunner.Exit(3, "inactive\n"));

        await Services("db.service").EnsureStoppedAtStartAsync(CancellationToken.None);

        const UnixFileMode File644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        const UnixFileMode Directory755 = File644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        Assert.Equal(Directory755, File.GetUnixFileMode(directory));
        Assert.Equal(File644, File.GetUnixFileMode(Path.Combine(directory, SystemdUnitControl.DropInName)));
    }

    [Fact]
    public async Task With_no_units_the_stop_list_of_an_earlier_run_is_removed()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(StopList)!);
        await File.WriteAllTextAsync(StopList, "db.service\n");
        var options = new ManagedServicesOptions { Kind = ManagedServicesKind.Systemd, DropInDirectory = _dir.Path, StopListPath = StopList };

        await ManagedServices.Create(options, _runner, NullLoggerFactory.Instance).EnsureStoppedAtStartAsync(CancellationToken.None);

        Assert.False(File.Exists(StopList));
        Assert.Empty(_runner.Calls);
    }

    [Fact]
    public async Task A_drop_in_of_a_unit_no_longer_managed_is_removed_and_foreign_drop_ins_stay()
    {
        string old = Path.Combine(_dir.Path, "old.service.d");
        Directory.CreateDirectory(old);
        await File.WriteAllTextAsync(Path.Combine(old, SystemdUnitControl.DropInName), "[Unit]\nBindsTo=appliance-agent.service\n");
        await File.WriteAllTextAsync(Path.Combine(old, "10-site.conf"), "[Service]\nNice=5\n");
        _runner.Answer("is-active db.service", RecordingRunner.Exit(3, "inactive\n"));

        await Services("db.service").EnsureStoppedAtStartAsync(CancellationToken.None);

        Assert.False(File.Exists(Path.Combine(old, SystemdUnitControl.DropInName)));
        Assert.True(File.Exists(Path.Combine(old, "10-site.conf")));
        Assert.Contains($"{Systemctl} daemon-reload", _runner.Calls);
    }

    [Fact]
    public async Task A_failed_daemon_reload_fails_the_start_before_anything_is_stopped()
    {
        _runner.Answer("daemon-reload", RecordingRunner.Exit(1, stderr: "Failed to reload daemon: Access denied\n"));

        var error = await Assert.ThrowsAsync<ManagedServicesException>(
            () => Services("db.service").EnsureStoppedAtStartAsync(CancellationToken.None));

        Assert.Contains("daemon-reload", error.Message, StringComparison.Ordinal);
        Assert.Contains("Access denied", error.Message, StringComparison.Ordinal);
        Assert.Equal([$"{Systemctl} daemon-reload"], _runner.Calls);
    }

    [Fact]
    public async Task A_start_after_a_failed_start_up_preparation_binds_the_units_first_and_says_so_when_it_cannot()
    {
        _runner.Answer("daemon-reload", RecordingRunner.Exit(1, stderr: "Failed to reload daemon: Access denied\n"));
        ManagedServices services = Services("db.service");
        int startedAndBound = 0;
        services.StartedAndBound += () => startedAndBound++;
        await Assert.ThrowsAsync<ManagedServicesException>(() => services.EnsureStoppedAtStartAsync(CancellationToken.None));
        _runner.Calls.Clear();

        // Still failing: the units start all the same, and the start reports the missing binding.
        var error = await Assert.ThrowsAsync<ManagedServicesException>(() => services.StartAsync(CancellationToken.None));
        Assert.Equal([$"{Systemctl} daemon-reload", $"{Systemctl} start db.service"], _runner.Calls);
        Assert.Contains("run without the binding to the agent", error.Message, StringComparison.Ordinal);
        Assert.Contains("Access denied", services.Problem, StringComparison.Ordinal);
        Assert.Equal(0, startedAndBound);

        _runner.Answer("daemon-reload", RecordingRunner.Exit(0));
        _runner.Calls.Clear();
        await services.StartAsync(CancellationToken.None);
        Assert.Equal([$"{Systemctl} daemon-reload", $"{Systemctl} start db.service"], _runner.Calls);
        Assert.Null(services.Problem);
        Assert.Equal(1, startedAndBound);

        // Bound now: the next start does not reload again.
        _runner.Calls.Clear();
        await services.StartAsync(CancellationToken.None);
        Assert.Equal([$"{Systemctl} start db.service"], _runner.Calls);
        Assert.Equal(2, startedAndBound);
    }

    [Fact]
    public async Task A_service_that_survives_the_start_stop_fails_the_agent_start()
    {
        _runner.Answer("is-active db.service", RecordingRunner.Exit(0, "active\n"));

        var error = await Assert.ThrowsAsync<ManagedServicesException>(
            () => Services("db.service").EnsureStoppedAtStartAsync(CancellationToken.None));

        Assert.Contains("db.service", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kind_none_runs_no_command()
    {
        var options = new ManagedServicesOptions { Kind = ManagedServicesKind.None, DropInDirectory = _dir.Path, StopListPath = StopList };
        ManagedServices services = ManagedServices.Create(options, _runner, NullLoggerFactory.Instance);

        await services.EnsureStoppedAtStartAsync(CancellationToken.None);
        await services.StartAsync(CancellationToken.None);
        await services.StopAsync(CancellationToken.None);
        Assert.True(await services.VerifyStoppedAsync(CancellationToken.None));

        Assert.Empty(_runner.Calls);
    }
}
