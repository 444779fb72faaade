using Appliance.Core.Panel;
using Microsoft.Extensions.Logging;

namespace Appliance.Hw.FrontPanel.Simulated;

/// <summary>
/// The panel for <c>make run</c> and tests: the screen lives in memory (one log line per change), buttons are
/// pressed remotely through <see cref="IRemotePanelPress"/> and go through the same debounce/hold decoder as
/// GPIO buttons. It is the only panel that implements <see cref="IRemotePanelPress"/>. An optional mirror display
/// (e.g. an HD44780 over an emulated bus) receives every frame too.
/// </summary>
public sealed partial class SimulatedPanel : IPanelDisplay, IRemotePanelPress
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly ButtonTiming _timing;
    private readonly ILogger _logger;
    private readonly IPanelDisplay? _mirror;
    private IButtonLevelSink? _buttons;
    private PanelFrame _current;

    public SimulatedPanel(PanelGeometry geometry, ButtonTiming timing, TimeProvider time, ILogger<SimulatedPanel> logger, IPanelDisplay? mirror = null)
    {
        ArgumentNullException.ThrowIfNull(timing);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        if (mirror is not null && mirror.Geometry != geometry)
        {
            throw new ArgumentException($"mirror display is {mirror.Geometry}, simulated panel is {geometry}", nameof(mirror));
        }

        Geometry = geometry;
        _timing = timing;
        _time = time;
        _logger = logger;
        _mirror = mirror;
        _current = new PanelFrame(geometry, []);
    }

    public PanelGeometry Geometry { get; }

    /// <summary>The frame on the simulated screen.</summary>
    public PanelFrame Current
    {
        get { lock (_gate) { return _current; } }
    }

    /// <summary>Number of distinct frames shown (a refresh without change does not count).</summary>
    public int FrameChanges { get; private set; }

    /// <summary>Where the simulated button levels go (the <see cref="ButtonGestureDecoder"/> in front of the controller).</summary>
    public void AttachButtons(IButtonLevelSink buttons)
    {
        ArgumentNullException.ThrowIfNull(buttons);
        _buttons = buttons;
    }

    public void Show(PanelFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        lock (_gate)
        {
            if (frame.Equals(_current))
            {
                return;
            }

            _current = frame;
            FrameChanges++;
        }

        LogFrame(frame);
        _mirror?.Show(frame);
    }

    public string RenderBox() => Current.RenderBox();

    /// <summary>
    /// Presses <paramref name="key"/> (and <paramref name="chordWith"/>) for <paramref name="hold"/>, then releases.
    /// The contact lasts two debounce windows longer than <paramref name="hold"/> so the decoder sees a stable press
    /// of at least that length; the task completes once the release has been debounced too.
    /// Scheduled with TimeProvider timers, so under a fake clock one Advance runs the whole press.
    /// </summary>
    public Task PressAsync(PanelKey key, TimeSpan hold, PanelKey? chordWith, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hold, TimeSpan.Zero);
        if (chordWith == key)
        {
            throw new ArgumentException($"--with must name a different key than {key}", nameof(chordWith));
        }

        var buttons = _buttons ?? throw new InvalidOperationException("the simulated panel has no buttons attached");
        var settle = (2 * _timing.Debounce) + TimeSpan.FromMilliseconds(1);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ITimer? releaseTimer = null;
        ITimer? doneTimer = null;
        var registration = cancellationToken.Register(() =>
        {
            Release(buttons, key, chordWith);
            done.TrySetCanceled(cancellationToken);
        });

        LogPress(key, hold, chordWith);
        Push(buttons, key, chordWith);
        releaseTimer = _time.CreateTimer(
            _ =>
            {
                Release(buttons, key, chordWith);
                releaseTimer?.Dispose();
                doneTimer = _time.CreateTimer(
                    _ =>
                    {
                        doneTimer?.Dispose();
                        registration.Dispose();
                        done.TrySetResult();
                    },
                    null,
                    settle,
                    Timeout.InfiniteTimeSpan);
            },
            null,
            hold + settle,
            Timeout.InfiniteTimeSpan);
        return done.Task;
    }

    private static void Push(IButtonLevelSink buttons, PanelKey key, PanelKey? chordWith)
    {
        buttons.OnLevel(key, true);
        if (chordWith is { } other)
        {
            buttons.OnLevel(other, true);
        }
    }

    private static void Release(IButtonLevelSink buttons, PanelKey key, PanelKey? chordWith)
    {
        buttons.OnLevel(key, false);
        if (chordWith is { } other)
        {
            buttons.OnLevel(other, false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "panel: {Frame}")]
    private partial void LogFrame(PanelFrame frame);

    [LoggerMessage(Level = LogLevel.Information, Message = "panel press {Key} hold {Hold} with {With}")]
    private partial void LogPress(PanelKey key, TimeSpan hold, PanelKey? with);
}
