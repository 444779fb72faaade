using System.Device.Gpio;
using Appliance.Core.Panel;

namespace Appliance.Tests.FrontPanel;

/// <summary>
/// A GPIO chip in memory, given to <c>new GpioController(driver)</c>: outputs are recorded (and can be watched, e.g.
/// by an LCD decoder), inputs are driven by the test and raise the registered edge callbacks exactly like the
/// libgpiod driver's event thread would. Blocking waits are refused: the code under test must use callbacks.
/// </summary>
public sealed class FakeGpioDriver : GpioDriver
{
    private readonly Dictionary<int, PinMode> _modes = [];
    private readonly Dictionary<int, PinValue> _levels = [];
    private readonly List<(int Pin, PinEventTypes Types, PinChangeEventHandler Handler)> _callbacks = [];

    /// <summary>Called after every output write with the pin and its new level.</summary>
    public event Action<int, PinValue>? OutputWritten;

    public IReadOnlyDictionary<int, PinMode> Modes => _modes;

    public int OpenPins => _modes.Count;

    public int CallbackCount => _callbacks.Count;

    protected override int PinCount => 64;

    public PinValue Level(int pin) => _levels.GetValueOrDefault(pin, PinValue.Low);

    /// <summary>Drives an input pin from outside (a button contact); raises edge callbacks when the level changes.</summary>
    public void SetInput(int pin, PinValue value)
    {
        if (!_modes.TryGetValue(pin, out var mode) || mode is PinMode.Output)
        {
            throw new InvalidOperationException($"pin {pin} is not an open input");
        }

        var old = Level(pin);
        _levels[pin] = value;
        if (old == value)
        {
            return;
        }

        var type = value == PinValue.High ? PinEventTypes.Rising : PinEventTypes.Falling;
        foreach (var (p, types, handler) in _callbacks.ToList())
        {
            if (p == pin && (types & type) != 0)
            {
                handler(this, new PinValueChangedEventArgs(type, pin));
            }
        }
    }

    protected override void OpenPin(int pinNumber) => _modes[pinNumber] = PinMode.Input;

    protected override void ClosePin(int pinNumber)
    {
        _modes.Remove(pinNumber);
        _callbacks.RemoveAll(c => c.Pin == pinNumber);
    }

    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        _modes[pinNumber] = mode;

        // Idle level from the pull resistor, as on a real pin with an open button.
        if (mode == PinMode.InputPullUp)
        {
            _levels[pinNumber] = PinValue.High;
        }
        else if (mode == PinMode.InputPullDown)
        {
            _levels[pinNumber] = PinValue.Low;
        }
    }

    protected override PinMode GetPinMode(int pinNumber) => _modes[pinNumber];

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) =>
        mode is PinMode.Input or PinMode.Output or PinMode.InputPullUp or PinMode.InputPullDown;

    protected override PinValue Read(int pinNumber) => Level(pinNumber);

    protected override void Write(int pinNumber, PinValue value)
    {
        if (_modes.GetValueOrDefault(pinNumber, PinMode.Input) != PinMode.Output)
        {
            throw new InvalidOperationException($"pin {pinNumber} written while not an output");
        }

        _levels[pinNumber] = value;
        OutputWritten?.Invoke(pinNumber, value);
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException("busy waiting on a pin is not allowed; register a callback");

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) =>
        _callbacks.Add((pinNumber, eventTypes, callback));

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) =>
        _callbacks.RemoveAll(c => c.Pin == pinNumber && c.Handler == callback);
}

/// <summary>The GPIO 4-bit LCD wiring decoded into the same emulator core: latch RS and D4–D7 on every falling edge of E.</summary>
public sealed class GpioLcdDecoder
{
    private readonly FakeGpioDriver _driver;
    private readonly int _rs;
    private readonly int _enable;
    private readonly int[] _data;
    private PinValue _lastEnable = PinValue.Low;

    public GpioLcdDecoder(FakeGpioDriver driver, Hd44780Emulator lcd, int rs, int enable, int[] data, int? backlight)
    {
        _driver = driver;
        Lcd = lcd;
        _rs = rs;
        _enable = enable;
        _data = data;
        driver.OutputWritten += (pin, value) =>
        {
            if (pin == backlight)
            {
                Lcd.Backlight = value == PinValue.High;
            }

            if (pin != _enable)
            {
                return;
            }

            if (_lastEnable == PinValue.High && value == PinValue.Low)
            {
                byte nibble = 0;
                for (var bit = 0; bit < 4; bit++)
                {
                    if (_driver.Level(_data[bit]) == PinValue.High)
                    {
                        nibble |= (byte)(1 << bit);
                    }
                }

                Lcd.Latch(_driver.Level(_rs) == PinValue.High, nibble);
            }

            _lastEnable = value;
        };
    }

    public Hd44780Emulator Lcd { get; }
}

/// <summary>Collects gestures in order.</summary>
public sealed class RecordingGestureSink : IPanelGestureSink
{
    private readonly List<PanelGesture> _gestures = [];

    public IReadOnlyList<PanelGesture> Gestures
    {
        get { lock (_gestures) { return [.. _gestures]; } }
    }

    public void OnGesture(PanelGesture gesture)
    {
        lock (_gestures)
        {
            _gestures.Add(gesture);
        }
    }
}
