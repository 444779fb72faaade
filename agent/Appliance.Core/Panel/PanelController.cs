using Appliance.Core.Ports;

namespace Appliance.Core.Panel;

/// <summary>
/// Runs the front panel: gestures and a periodic refresh go through the <see cref="PanelMenu"/>, frames go to
/// the display, effects (the password reset) go to their ports. The panel is best-effort: a failing status
/// source or display never stops the loop, and nothing here can make the appliance fail over.
/// </summary>
public sealed class PanelController : IPanelGestureSink
{
    /// <summary>How often the status is re-read and the timeouts applied.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly IPanelDisplay _display;
    private readonly IPanelStatusSource _statusSource;
    private readonly IAdminCredentialSink _credentials;
    private readonly TimeProvider _time;
    private readonly PanelMenu _menu;
    private PanelStatus _status = PanelStatus.Empty;
    private PanelSettings _settings;
    private PanelFrame? _lastFrame;
    private Task _pendingEffects = Task.CompletedTask;

    public PanelController(
        IPanelDisplay display,
        IPanelStatusSource statusSource,
        IAdminCredentialSink credentials,
        ISecureRandom random,
        TimeProvider time,
        PanelSettings settings)
    {
        ArgumentNullException.ThrowIfNull(display);
        ArgumentNullException.ThrowIfNull(statusSource);
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(settings);
        _display = display;
        _statusSource = statusSource;
        _credentials = credentials;
        _time = time;
        _settings = settings;
        _menu = new PanelMenu(display.Geometry, time, random);
    }

    /// <summary>The operator settings; the host sets them at start and whenever they change.</summary>
    public PanelSettings Settings
    {
        get { lock (_gate) { return _settings; } }
        set { ArgumentNullException.ThrowIfNull(value); lock (_gate) { _settings = value; } }
    }

    /// <summary>The frame on the display now (for <c>panel show</c>).</summary>
    public PanelFrame CurrentFrame
    {
        get { lock (_gate) { return _lastFrame ?? _menu.Render(_status); } }
    }

    /// <summary>Completes when the effects started by earlier gestures (the password reset) have finished.</summary>
    public Task PendingEffects
    {
        get { lock (_gate) { return _pendingEffects; } }
    }

    /// <summary>Status errors from the last refresh, or null; the panel keeps showing the previous snapshot.</summary>
    public Exception? LastStatusError { get; private set; }

    /// <summary>The error of the last failed draw, or null when the last draw succeeded.</summary>
    public Exception? LastDisplayError { get; private set; }

    public void OnGesture(PanelGesture gesture)
    {
        lock (_gate)
        {
            var effects = _menu.Handle(gesture, _status, _settings);
            DrawLocked();
            foreach (var effect in effects)
            {
                var previous = _pendingEffects;
                _pendingEffects = RunEffectAsync(previous, effect);
            }
        }
    }

    /// <summary>Re-reads the status, applies the timeouts and redraws (the display writes only changes).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            var status = await _statusSource.GetStatusAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _status = status;
            }

            LastStatusError = null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LastStatusError = e;
        }

        lock (_gate)
        {
            _menu.Tick();
            DrawLocked();
        }
    }

    /// <summary>The panel loop: refresh every <see cref="RefreshInterval"/> until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(RefreshInterval, _time);
        do
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
    }

    private void DrawLocked()
    {
        var frame = _menu.Render(_status);
        _lastFrame = frame;
        try
        {
            _display.Show(frame);
            LastDisplayError = null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A broken display must not stop the menu; the next draw retries (drivers re-initialise themselves).
            LastDisplayError = e;
        }
    }

    private async Task RunEffectAsync(Task previous, PanelEffect effect)
    {
        await previous.ConfigureAwait(false);
        if (effect is not SetAdminPasswordEffect set)
        {
            return;
        }

        bool succeeded;
        try
        {
            await _credentials.SetAdminPasswordAsync(set.Password, CancellationToken.None).ConfigureAwait(false);
            await _credentials.RecordPanelPasswordResetAsync(CancellationToken.None).ConfigureAwait(false);
            succeeded = true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            succeeded = false;
        }

        lock (_gate)
        {
            _menu.PasswordApplied(succeeded);
            DrawLocked();
        }
    }
}
