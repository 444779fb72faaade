using System.Device.Gpio;
using Appliance.Core.Panel;

namespace Appliance.Hw.FrontPanel.Buttons;

/// <summary>GPIO pin numbers of the panel buttons (logical numbering of the GPIO controller).</summary>
/// <param name="Up">Up button pin.</param>
/// <param name="Down">Down button pin.</param>
/// <param name="Check">Check (select/accept) button pin.</param>
/// <param name="Back">Optional Back button pin.</param>
/// <param name="ActiveLow">True when a pressed button pulls the pin to ground (internal pull-up used).</param>
public sealed record ButtonPins(int Up, int Down, int Check, int? Back, bool ActiveLow);

/// <summary>
/// Panel buttons on GPIO inputs. Edges arrive through the driver's event callbacks (no polling) and go, raw,
/// to an <see cref="IButtonLevelSink"/> — the <see cref="ButtonGestureDecoder"/> debounces them, because
/// System.Device.Gpio has no bounce time of its own.
/// </summary>
public sealed class GpioButtons : IDisposable
{
    private readonly GpioController _gpio;
    private readonly ButtonPins _pins;
    private readonly IButtonLevelSink _sink;
    private readonly bool _ownsController;
    private readonly Dictionary<int, PanelKey> _keyByPin = [];
    private readonly PinChangeEventHandler _handler;
    private bool _disposed;

    public GpioButtons(GpioController gpio, ButtonPins pins, IButtonLevelSink sink, bool ownsController = true)
    {
        ArgumentNullException.ThrowIfNull(gpio);
        ArgumentNullException.ThrowIfNull(pins);
        ArgumentNullException.ThrowIfNull(sink);
        _gpio = gpio;
        _pins = pins;
        _sink = sink;
        _ownsController = ownsController;
        _handler = OnPinChanged;

        Add(pins.Up, PanelKey.Up);
        Add(pins.Down, PanelKey.Down);
        Add(pins.Check, PanelKey.Check);
        if (pins.Back is { } back)
        {
            Add(back, PanelKey.Back);
        }

        var pull = pins.ActiveLow ? PinMode.InputPullUp : PinMode.InputPullDown;
        foreach (var pin in _keyByPin.Keys)
        {
            // Boards without software pulls need external resistors; plain input then.
            _gpio.OpenPin(pin, _gpio.IsPinModeSupported(pin, pull) ? pull : PinMode.Input);
            _gpio.RegisterCallbackForPinValueChangedEvent(pin, PinEventTypes.Rising | PinEventTypes.Falling, _handler);
        }
    }

    private void Add(int pin, PanelKey key)
    {
        if (!_keyByPin.TryAdd(pin, key))
        {
            throw new ArgumentException($"button pin {pin} is used for both {_keyByPin[pin]} and {key}", nameof(pin));
        }
    }

    private void OnPinChanged(object sender, PinValueChangedEventArgs e)
    {
        if (!_keyByPin.TryGetValue(e.PinNumber, out var key))
        {
            return;
        }

        var pinLow = e.ChangeType == PinEventTypes.Falling;
        _sink.OnLevel(key, pinLow == _pins.ActiveLow);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var pin in _keyByPin.Keys)
        {
            _gpio.UnregisterCallbackForPinValueChangedEvent(pin, _handler);
            _gpio.ClosePin(pin);
        }

        if (_ownsController)
        {
            _gpio.Dispose();
        }
    }
}
