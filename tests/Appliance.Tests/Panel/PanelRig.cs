using Appliance.Core.Failover;
using Appliance.Core.Panel;
using Appliance.Core.Ports;
using Appliance.Hw.FrontPanel;
using Appliance.Hw.FrontPanel.Simulated;
using Appliance.Tests.FrontPanel;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Appliance.Tests.Panel;

/// <summary>A status source the test changes between refreshes.</summary>
public sealed class MutableStatusSource : IPanelStatusSource
{
    public PanelStatus Status { get; set; } = PanelStatus.Empty;

    public int Reads { get; private set; }

    public Task<PanelStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        Reads++;
        return Task.FromResult(Status);
    }
}

/// <summary>Records password resets (the real sink hashes; here the test checks what arrived).</summary>
public sealed class RecordingCredentialSink : IAdminCredentialSink
{
    public List<string> Passwords { get; } = [];

    public int ResetEvents { get; private set; }

    public bool Fail { get; set; }

    public Task SetAdminPasswordAsync(string password, CancellationToken cancellationToken)
    {
        if (Fail)
        {
            throw new InvalidOperationException("store is read-only");
        }

        Passwords.Add(password);
        return Task.CompletedTask;
    }

    public Task RecordPanelPasswordResetAsync(CancellationToken cancellationToken)
    {
        ResetEvents++;
        return Task.CompletedTask;
    }
}

/// <summary>Deterministic "random" bytes 0, 1, 2, …</summary>
public sealed class CountingRandom : ISecureRandom
{
    private byte _next;

    public void Fill(Span<byte> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = _next++;
        }
    }
}

/// <summary>The simulated panel built by the real factory, on a fake clock.</summary>
public sealed class PanelRig : IDisposable
{
    public static readonly PanelStatus SampleStatus = new()
    {
        Interfaces = [new("eth0", "10.0.0.5", true), new("eth1", "192.168.1.2", false)],
        Role = HaRole.Passive,
        Epoch = 7,
        PeerReachable = false,
        HealthSummary = "CPU 12% MEM 40% DSK 71%",
        LastAlert = "disk 71% on /var",
        MirrorState = "in sync",
        LastMirrorSync = new DateTimeOffset(2026, 11, 23, 22, 15, 0, TimeSpan.Zero),
        Version = "0.1.0+abc123",
    };

    public PanelRig(PanelSettings? settings = null, int columns = 16, int rows = 2)
    {
        Status.Status = SampleStatus;
        Runtime = FrontPanelRuntime.Create(
            new PanelOptions { Kind = PanelKind.Simulated, Columns = columns, Rows = rows },
            new FrontPanelDependencies(Status, Credentials, settings ?? PanelSettings.Default, Time, NullLoggerFactory.Instance)
            {
                Random = new CountingRandom(),
            });
        Assert.Null(Runtime.Warning);
        Refresh();
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));

    public MutableStatusSource Status { get; } = new();

    public RecordingCredentialSink Credentials { get; } = new();

    public FrontPanelRuntime Runtime { get; }

    public PanelController Controller => Runtime.Controller!;

    public SimulatedPanel Panel => Runtime.Simulated!;

    public IReadOnlyList<string> Screen => Panel.Current.Lines.Select(l => l.TrimEnd()).ToList();

    public void Refresh() => Controller.RefreshAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Presses through the simulated panel's remote-press port and runs the fake clock until it is done.</summary>
    public void Press(PanelKey key, TimeSpan hold = default, PanelKey? with = null)
    {
        var press = Runtime.RemotePress!.PressAsync(key, hold, with, CancellationToken.None);
        Time.Elapse(hold + TimeSpan.FromMilliseconds(100));
        Assert.True(press.IsCompletedSuccessfully, "the simulated press did not finish on the fake clock");
        Controller.PendingEffects.GetAwaiter().GetResult();
    }

    public void Idle(TimeSpan duration)
    {
        Time.Elapse(duration);
        Refresh();
    }

    public void Dispose() => Runtime.Dispose();
}
