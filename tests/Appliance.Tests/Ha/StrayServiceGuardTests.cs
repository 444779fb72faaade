using System.Threading.Channels;
using Appliance.Agent.Ha;
using Appliance.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Appliance.Tests.Ha;

/// <summary>
/// The periodic check on a node that is not Active, on a virtual clock, against the recording systemctl
/// seam. Each tick asks "is the node Active?" first, so the tests count ticks through that question.
/// </summary>
public sealed class StrayServiceGuardTests : IAsyncLifetime
{
    private const string Systemctl = "/usr/bin/systemctl";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly TempDir _dir = new();
    private readonly RecordingRunner _runner = new();
    private readonly FakeTimeProvider _time = new();
    private readonly Channel<bool> _asked = Channel.CreateUnbounded<bool>();
    private readonly Channel<StoppedCheck> _reports = Channel.CreateUnbounded<StoppedCheck>();
    private readonly ManagedServices _services;
    private readonly StrayServiceGuard _guard;
    private volatile bool _active;

    public StrayServiceGuardTests()
    {
        var options = new ManagedServicesOptions { Kind = ManagedServicesKind.Systemd, Units = ["db.service", "app.service"], DropInDirectory = _dir.Path, StopListPath = _dir.File("managed-units") };
        _services = ManagedServices.Create(options, _runner, NullLoggerFactory.Instance);
        _guard = new StrayServiceGuard(_services, NodeIsActive, Interval, check => _reports.Writer.TryWrite(check), _time, NullLogger<StrayServiceGuard>.Instance);
        _runner.Answer("is-active db.service", RecordingRunner.Exit(3, "inactive\n"))
            .Answer("is-active app.service", RecordingRunner.Exit(3, "inactive\n"));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _guard.DisposeAsync();
        _services.Dispose();
        _dir.Dispose();
    }

    private bool NodeIsActive()
    {
        bool active = _active;
        _asked.Writer.TryWrite(active);
        return active;
    }

    /// <summary>Moves the clock one interval and waits until the guard's tick has asked the role question.</summary>
    private async Task TickAsync()
    {
        _time.Advance(Interval);
        await _asked.Reader.ReadAsync().AsTask().WaitAsync(Patience);
    }

    private async Task StartedPassiveAsync()
    {
        await _services.EnsureStoppedAtStartAsync(CancellationToken.None);
        _runner.Calls.Clear();
        _guard.Start();
    }

    [Fact]
    public async Task A_unit_started_by_hand_on_the_passive_is_stopped_at_the_next_interval_and_reported()
    {
        await StartedPassiveAsync();
        _runner.Answer("is-active app.service", RecordingRunner.Exit(0, "active\n"), RecordingRunner.Exit(3, "inactive\n"));

        await TickAsync();
        StoppedCheck check = await _reports.Reader.ReadAsync().AsTask().WaitAsync(Patience);

        Assert.Equal(["app.service"], check.StrayStopped);
        Assert.True(check.AllStopped);
        Assert.Equal(
            [$"{Systemctl} is-active app.service", $"{Systemctl} stop app.service", $"{Systemctl} is-active app.service", $"{Systemctl} is-active db.service"],
            _runner.Calls);
    }

    [Fact]
    public async Task Every_interval_checks_again_and_a_clean_check_is_reported_with_nothing_stopped()
    {
        await StartedPassiveAsync();

        await TickAsync();
        Assert.Empty((await _reports.Reader.ReadAsync().AsTask().WaitAsync(Patience)).StrayStopped);
        await TickAsync();
        Assert.Empty((await _reports.Reader.ReadAsync().AsTask().WaitAsync(Patience)).StrayStopped);

        Assert.Equal(4, _runner.Calls.Count(c => c.Contains(" is-active ", StringComparison.Ordinal)));
        Assert.DoesNotContain(_runner.Calls, c => c.Contains(" stop ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Nothing_is_queried_or_stopped_while_the_node_is_active()
    {
        await StartedPassiveAsync();
        _runner.Answer("is-active app.service", RecordingRunner.Exit(0, "active\n"));
        _active = true;

        await TickAsync();
        await TickAsync(); // the second question comes after the first tick is done

        Assert.Empty(_runner.Calls);
        Assert.False(_reports.Reader.TryRead(out _));
    }

    [Fact]
    public async Task After_a_promotion_started_the_services_no_check_runs_even_if_the_role_still_reads_passive()
    {
        await StartedPassiveAsync();
        await _services.StartAsync(CancellationToken.None); // the engine's order: run
        _runner.Calls.Clear();
        _runner.Answer("is-active app.service", RecordingRunner.Exit(0, "active\n"));

        await TickAsync();
        await TickAsync();

        Assert.Empty(_runner.Calls);
    }

    [Fact]
    public async Task A_promotion_during_a_check_waits_for_it_and_then_starts_everything()
    {
        await StartedPassiveAsync();
        _runner.Answer("is-active app.service", RecordingRunner.Exit(0, "active\n"), RecordingRunner.Exit(3, "inactive\n"));
        Task? promotion = null;
        bool promotionWaited = false;
        _runner.OnCall = arguments =>
        {
            if (arguments == "stop app.service")
            {
                // The engine decides Active while the stray stop is under way.
                _active = true;
                promotion = _services.StartAsync(CancellationToken.None);
                promotionWaited = !promotion.IsCompleted;
            }
        };

        await TickAsync();
        await _reports.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        await promotion!.WaitAsync(Patience);

        Assert.True(promotionWaited);
        Assert.Equal(
        [
            $"{Systemctl} is-active app.service", $"{Systemctl} stop app.service", $"{Systemctl} is-active app.service", $"{Systemctl} is-active db.service",
            $"{Systemctl} start db.service", $"{Systemctl} start app.service",
        ], _runner.Calls);

        _runner.Calls.Clear();
        await TickAsync();
        await TickAsync();
        Assert.Empty(_runner.Calls);
    }

    [Fact]
    public async Task After_a_demotion_stopped_the_services_the_checks_resume()
    {
        await StartedPassiveAsync();
        await _services.StartAsync(CancellationToken.None);
        await _services.StopAsync(CancellationToken.None);
        _runner.Calls.Clear();

        await TickAsync();
        await _reports.Reader.ReadAsync().AsTask().WaitAsync(Patience);

        Assert.Equal([$"{Systemctl} is-active app.service", $"{Systemctl} is-active db.service"], _runner.Calls);
    }

    [Fact]
    public async Task No_check_before_the_start_up_stop_has_run()
    {
        _guard.Start();

        await TickAsync();
        await TickAsync();

        Assert.Empty(_runner.Calls);
    }

    [Fact]
    public async Task A_unit_that_will_not_stop_is_reported_and_the_guard_keeps_checking()
    {
        await StartedPassiveAsync();
        _runner.Answer("is-active app.service", RecordingRunner.Exit(0, "active\n"))
            .Answer("stop app.service", RecordingRunner.Exit(1, stderr: "Failed to stop app.service: Access denied\n"));

        await TickAsync();
        StoppedCheck first = await _reports.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        await TickAsync();
        StoppedCheck second = await _reports.Reader.ReadAsync().AsTask().WaitAsync(Patience);

        Assert.Equal("app.service", Assert.Single(first.NotStopped).Unit);
        Assert.False(second.AllStopped);
        Assert.Contains("app.service", _services.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_round_does_not_end_the_guard()
    {
        await StartedPassiveAsync();
        bool thrown = false;
        _runner.OnCall = arguments =>
        {
            if (!thrown && arguments == "is-active app.service")
            {
                thrown = true;
                throw new InvalidOperationException("systemctl could not be started");
            }
        };

        await TickAsync();
        await TickAsync();

        Assert.True(thrown);
        Assert.Empty((await _reports.Reader.ReadAsync().AsTask().WaitAsync(Patience)).StrayStopped);
    }
}
