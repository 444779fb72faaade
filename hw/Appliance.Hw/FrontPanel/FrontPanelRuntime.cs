using System.Device.Gpio;
using System.Device.I2c;
using Appliance.Core.Panel;
using Appliance.Core.Ports;
using Appliance.Hw.FrontPanel.Buttons;
using Appliance.Hw.FrontPanel.Hd44780;
using Appliance.Hw.FrontPanel.IdracLcd;
using Appliance.Hw.FrontPanel.LcdProc;
using Appliance.Hw.FrontPanel.Simulated;
using Microsoft.Extensions.Logging;

namespace Appliance.Hw.FrontPanel;

/// <summary>Tells whether this machine has I²C buses or GPIO chips at all.</summary>
public interface IPanelHardwareProbe
{
    bool HasI2cBus { get; }

    bool HasGpioChip { get; }
}

/// <summary>Looks for /dev/i2c-* and /dev/gpiochip*.</summary>
public sealed class DevPanelHardwareProbe : IPanelHardwareProbe
{
    public static DevPanelHardwareProbe Instance { get; } = new();

    public bool HasI2cBus => Exists("i2c-*");

    public bool HasGpioChip => Exists("gpiochip*");

    private static bool Exists(string pattern) =>
        Directory.Exists("/dev") && Directory.EnumerateFileSystemEntries("/dev", pattern).Any();
}

/// <summary>What the front panel needs from the host. The seams at the bottom default to the real hardware.</summary>
public sealed record FrontPanelDependencies(
    IPanelStatusSource Status,
    IAdminCredentialSink Credentials,
    PanelSettings Settings,
    TimeProvider Time,
    ILoggerFactory Loggers)
{
    /// <summary>The Dell LCD through the BMC; needed only for <see cref="PanelKind.IdracLcd"/>.</summary>
    public IBmcFrontLcd? BmcFrontLcd { get; init; }

    public ISecureRandom Random { get; init; } = CryptoSecureRandom.Instance;

    public IPanelHardwareProbe Probe { get; init; } = DevPanelHardwareProbe.Instance;

    public Func<I2cConnectionSettings, I2cDevice> OpenI2c { get; init; } = I2cDevice.Create;

    public Func<GpioController> OpenGpio { get; init; } = () => new GpioController();

    public IHd44780Delay Delay { get; init; } = HardwareDelay.Instance;
}

/// <summary>
/// The front panel as configured: display, buttons, menu controller and the loops that drive them.
/// <see cref="Create"/> never throws for missing or broken hardware: it returns a runtime of kind
/// <see cref="PanelKind.None"/> with a <see cref="Warning"/>, because the panel must never be the reason an appliance fails.
/// </summary>
public sealed partial class FrontPanelRuntime : IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly ILogger _logger;
    private LcdProcPanel? _lcdProc;
    private IdracFrontLcdPresenter? _idrac;
    private readonly FrontPanelDependencies _dependencies;

    private FrontPanelRuntime(PanelKind kind, FrontPanelDependencies dependencies)
    {
        Kind = kind;
        _dependencies = dependencies;
        _logger = dependencies.Loggers.CreateLogger<FrontPanelRuntime>();
    }

    /// <summary>The kind in use after auto-detection and fallback.</summary>
    public PanelKind Kind { get; private set; }

    /// <summary>Why the configured panel is not (fully) in use, or null; the host logs it once at start.</summary>
    public string? Warning { get; private set; }

    /// <summary>The menu controller; null for None and IdracLcd (display-only). Set its Settings when the operator changes them.</summary>
    public PanelController? Controller { get; private set; }

    /// <summary>Remote presses: non-null ONLY for the simulated panel. Real panels need a person at the machine.</summary>
    public IRemotePanelPress? RemotePress { get; private set; }

    /// <summary>The simulated panel, when that is the kind.</summary>
    public SimulatedPanel? Simulated { get; private set; }

    /// <summary>The LCDproc client, when that is the kind.</summary>
    public LcdProcPanel? LcdProc => _lcdProc;

    /// <summary>The Dell LCD presenter, when that is the kind.</summary>
    public IdracFrontLcdPresenter? IdracLcd => _idrac;

    /// <summary>The frame on the display now, or null when there is no panel (or the Dell LCD shows nothing yet).</summary>
    public PanelFrame? CurrentFrame() =>
        Controller?.CurrentFrame
        ?? (_idrac?.Shown is { } text ? new PanelFrame(new PanelGeometry(16, 2), [text]) : null);

    /// <summary>The screen as a framed box for <c>panel show</c>, or null when there is no panel.</summary>
    public string? RenderScreen() => CurrentFrame()?.RenderBox();

    public static FrontPanelRuntime Create(PanelOptions options, FrontPanelDependencies dependencies)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dependencies);
        var runtime = new FrontPanelRuntime(options.Kind, dependencies);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            return runtime.Disable("front panel configuration is invalid: " + string.Join("; ", errors));
        }

        var kind = options.Kind;
        if (kind == PanelKind.Auto)
        {
            var probe = dependencies.Probe;
            if (probe.HasI2cBus || probe.HasGpioChip)
            {
                // Never guess on real hardware: a write to 0x27 on a server's SMBus could hit some other chip.
                return runtime.Disable($"this machine has I2C/GPIO devices but {PanelOptions.SectionName}:Kind is not set; "
                    + "set it to Hd44780I2c, Hd44780Gpio, LcdProc, IdracLcd, Simulated or None");
            }

            kind = PanelKind.Simulated;
        }

        runtime.Kind = kind;
        try
        {
            runtime.Build(kind, options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException
            or InvalidOperationException or ArgumentException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            runtime.DisposeOwned();
            return runtime.Disable($"front panel {kind} could not be opened ({Describe(kind, options)}): {e.Message}; running without a panel");
        }

        return runtime;
    }

    private FrontPanelRuntime Disable(string warning)
    {
        Kind = PanelKind.None;
        Warning = warning;
        Controller = null;
        RemotePress = null;
        Simulated = null;
        _lcdProc = null;
        _idrac = null;
        return this;
    }

    private static string Describe(PanelKind kind, PanelOptions options) => kind switch
    {
        PanelKind.Hd44780I2c => $"/dev/i2c-{options.I2cBusId} address 0x{options.I2cAddress:x2}",
        PanelKind.Hd44780Gpio => $"GPIO RS {options.LcdRegisterSelectPin} E {options.LcdEnablePin} D4-D7 {options.LcdD4Pin},{options.LcdD5Pin},{options.LcdD6Pin},{options.LcdD7Pin}",
        PanelKind.LcdProc => $"LCDd at {options.LcdProcHost}:{options.LcdProcPort}",
        _ => kind.ToString(),
    };

    private void Build(PanelKind kind, PanelOptions options)
    {
        var deps = _dependencies;
        switch (kind)
        {
            case PanelKind.None:
                return;
            case PanelKind.IdracLcd:
                _idrac = new IdracFrontLcdPresenter(
                    deps.BmcFrontLcd ?? throw new InvalidOperationException("no BMC front-LCD adapter is configured"),
                    deps.Loggers.CreateLogger<IdracFrontLcdPresenter>());
                return;
            case PanelKind.Simulated:
                var simulated = new SimulatedPanel(options.Geometry, options.ButtonTiming, deps.Time, deps.Loggers.CreateLogger<SimulatedPanel>());
                var controller = NewController(simulated);
                simulated.AttachButtons(Own(new ButtonGestureDecoder(controller, options.ButtonTiming, deps.Time)));
                Simulated = simulated;
                RemotePress = simulated;
                return;
            case PanelKind.LcdProc:
                var lcdProc = Own(new LcdProcPanel(options.LcdProcHost, options.LcdProcPort, options.Geometry, deps.Time, deps.Loggers.CreateLogger<LcdProcPanel>()));
                lcdProc.AttachKeys(NewController(lcdProc));
                _lcdProc = lcdProc;
                return;
            case PanelKind.Hd44780I2c:
                var device = deps.OpenI2c(new I2cConnectionSettings(options.I2cBusId, options.I2cAddress));
                var i2cDisplay = Own(new Hd44780Display(new Hd44780Controller(new Pcf8574Hd44780Bus(device), options.Geometry, deps.Delay)));
                AttachGpioButtons(NewController(i2cDisplay), options, gpio: null);
                return;
            case PanelKind.Hd44780Gpio:
                var gpio = Own(deps.OpenGpio());
                var gpioDisplay = Own(new Hd44780Display(new Hd44780Controller(new GpioHd44780Bus(gpio, options.LcdPins, ownsController: false), options.Geometry, deps.Delay)));
                AttachGpioButtons(NewController(gpioDisplay), options, gpio);
                return;
        }
    }

    private PanelController NewController(IPanelDisplay display)
    {
        var deps = _dependencies;
        Controller = new PanelController(new GuardedDisplay(display, this), deps.Status, deps.Credentials, deps.Random, deps.Time, deps.Settings);
        return Controller;
    }

    /// <summary>Buttons are optional: without them the display still shows status, so a failure is only a warning.</summary>
    private void AttachGpioButtons(PanelController controller, PanelOptions options, GpioController? gpio)
    {
        if (!options.GpioButtons)
        {
            return;
        }

        try
        {
            var decoder = Own(new ButtonGestureDecoder(controller, options.ButtonTiming, _dependencies.Time));
            var controllerForButtons = gpio ?? Own(_dependencies.OpenGpio());
            Own(new GpioButtons(controllerForButtons, options.ButtonPins, decoder, ownsController: false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException
            or InvalidOperationException or ArgumentException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            Warning = $"panel buttons on GPIO {options.ButtonUpPin}/{options.ButtonDownPin}/{options.ButtonCheckPin} could not be opened: {e.Message}; the display shows status without buttons";
        }
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    /// <summary>Runs the panel until cancelled: the refresh loop plus the LCDproc connection or the Dell LCD poller.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var loops = new List<Task>();
        if (Warning is { } warning)
        {
            LogWarning(warning);
        }

        if (Controller is { } controller)
        {
            loops.Add(controller.RunAsync(cancellationToken));
        }

        if (_lcdProc is { } lcdProc)
        {
            loops.Add(lcdProc.RunAsync(cancellationToken));
        }

        if (_idrac is { } idrac)
        {
            loops.Add(idrac.RunAsync(_dependencies.Status, _dependencies.Time, cancellationToken));
        }

        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Normal shutdown.
        }
    }

    private void DisposeOwned()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        _owned.Clear();
    }

    public void Dispose() => DisposeOwned();

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private partial void LogWarning(string warning);

    [LoggerMessage(Level = LogLevel.Warning, Message = "front panel display write failed: {Reason}; retrying on the next refresh")]
    private partial void LogDisplayFailed(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "front panel display works again")]
    private partial void LogDisplayRecovered();

    /// <summary>Logs the first failure of a display and its recovery (not every retry) and swallows the error.</summary>
    private sealed class GuardedDisplay(IPanelDisplay inner, FrontPanelRuntime owner) : IPanelDisplay
    {
        private bool _failing;

        public PanelGeometry Geometry => inner.Geometry;

        public void Show(PanelFrame frame)
        {
            try
            {
                inner.Show(frame);
                if (_failing)
                {
                    _failing = false;
                    owner.LogDisplayRecovered();
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
            {
                if (!_failing)
                {
                    _failing = true;
                    owner.LogDisplayFailed(e.Message);
                }
            }
        }
    }
}
