using System.Device.Gpio;
using Appliance.Core.Panel;
using Appliance.Hw.FrontPanel.Buttons;
using Microsoft.Extensions.Time.Testing;

namespace Appliance.Tests.FrontPanel;

public sealed class GpioButtonsTests : IDisposable
{
    private const int Up = 5, Down = 6, Check = 13, Back = 19;
    private readonly FakeTimeProvider _time = new();
    private readonly FakeGpioDriver _driver = new();
    private readonly RecordingGestureSink _sink = new();
    private readonly ButtonGestureDecoder _decoder;
    private readonly GpioButtons _buttons;
    private readonly bool _activeLow;

    public GpioButtonsTests()
        : this(activeLow: true)
    {
    }

    private GpioButtonsTests(bool activeLow)
    {
        _activeLow = activeLow;
        _decoder = new ButtonGestureDecoder(_sink, ButtonTiming.Default, _time);
        _buttons = new GpioButtons(new GpioController(_driver), new ButtonPins(Up, Down, Check, Back, activeLow), _decoder);
    }

    public void Dispose()
    {
        _buttons.Dispose();
        _decoder.Dispose();
    }

    private PinValue Pressed => _activeLow ? PinValue.Low : PinValue.High;

    private PinValue Released => _activeLow ? PinValue.High : PinValue.Low;

    /// <summary>A mechanical contact: <paramref name="edges"/> flips 0.5 ms apart before settling on <paramref name="final"/>.</summary>
    private void Bounce(int pin, PinValue final, int edges = 7)
    {
        var other = final == PinValue.High ? PinValue.Low : PinValue.High;
        for (var i = 0; i < edges; i++)
        {
            _driver.SetInput(pin, i % 2 == 0 ? final : other);
            _time.Elapse(TimeSpan.FromMilliseconds(0.5));
        }

        _driver.SetInput(pin, final);
    }

    [Fact]
    public void Bounce_trains_on_press_and_release_give_exactly_one_press()
    {
        Bounce(Up, Pressed);
        _time.Elapse(TimeSpan.FromMilliseconds(150));
        Bounce(Up, Released);
        _time.Elapse(TimeSpan.FromMilliseconds(50));

        Assert.Equal([PanelGesture.Press(PanelKey.Up)], _sink.Gestures);
    }

    [Fact]
    public void A_glitch_shorter_than_the_debounce_time_is_ignored()
    {
        _driver.SetInput(Check, Pressed);
        _time.Elapse(TimeSpan.FromMilliseconds(10));
        _driver.SetInput(Check, Released);
        _time.Elapse(TimeSpan.FromMilliseconds(100));

        Assert.Empty(_sink.Gestures);
    }

    [Fact]
    public void Holding_fires_once_while_held_and_the_release_adds_nothing()
    {
        Bounce(Check, Pressed);
        _time.Elapse(TimeSpan.FromMilliseconds(1900));
        Assert.Empty(_sink.Gestures);

        _time.Elapse(TimeSpan.FromMilliseconds(200));
        Assert.Equal([PanelGesture.Hold(PanelKey.Check)], _sink.Gestures);

        _time.Elapse(TimeSpan.FromSeconds(3));
        Bounce(Check, Released);
        _time.Elapse(TimeSpan.FromMilliseconds(50));
        Assert.Equal([PanelGesture.Hold(PanelKey.Check)], _sink.Gestures);
    }

    [Fact]
    public void Up_and_down_held_together_give_the_chord_and_no_presses()
    {
        Bounce(Up, Pressed);
        _time.Elapse(TimeSpan.FromMilliseconds(120));
        Bounce(Down, Pressed);
        _time.Elapse(TimeSpan.FromMilliseconds(1500));

        // The hold time counts from the second key: Up alone has been down 1.6 s and must not fire a hold.
        _time.Elapse(TimeSpan.FromMilliseconds(450));
        Assert.Empty(_sink.Gestures);
        _time.Elapse(TimeSpan.FromMilliseconds(100));
        Assert.Equal([PanelGesture.UpDownChord], _sink.Gestures);

        Bounce(Down, Released);
        _time.Elapse(TimeSpan.FromMilliseconds(80));
        Bounce(Up, Released);
        _time.Elapse(TimeSpan.FromMilliseconds(80));
        Assert.Equal([PanelGesture.UpDownChord], _sink.Gestures);
    }

    [Fact]
    public void A_chord_released_early_gives_nothing()
    {
        Bounce(Up, Pressed);
        Bounce(Down, Pressed);
        _time.Elapse(TimeSpan.FromMilliseconds(500));
        Bounce(Up, Released);
        Bounce(Down, Released);
        _time.Elapse(TimeSpan.FromSeconds(3));

        Assert.Empty(_sink.Gestures);
    }

    [Fact]
    public void Pins_use_pull_ups_and_edge_callbacks_not_polling()
    {
        Assert.Equal(4, _driver.CallbackCount);
        Assert.All([Up, Down, Check, Back], pin => Assert.Equal(PinMode.InputPullUp, _driver.Modes[pin]));

        Bounce(Back, Pressed);
        _time.Elapse(TimeSpan.FromMilliseconds(60));
        Bounce(Back, Released);
        _time.Elapse(TimeSpan.FromMilliseconds(60));
        Assert.Equal([PanelGesture.Press(PanelKey.Back)], _sink.Gestures);

        _buttons.Dispose();
        Assert.Equal(0, _driver.CallbackCount);
        Assert.Equal(0, _driver.OpenPins);
    }

    [Fact]
    public void Active_high_wiring_uses_pull_downs_and_rising_edges_as_presses()
    {
        using var rig = new GpioButtonsTests(activeLow: false);
        Assert.Equal(PinMode.InputPullDown, rig._driver.Modes[Down]);

        rig.Bounce(Down, PinValue.High);
        rig._time.Elapse(TimeSpan.FromMilliseconds(100));
        rig.Bounce(Down, PinValue.Low);
        rig._time.Elapse(TimeSpan.FromMilliseconds(100));

        Assert.Equal([PanelGesture.Press(PanelKey.Down)], rig._sink.Gestures);
    }

    [Fact]
    public void The_same_pin_for_two_buttons_is_refused_with_both_names()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new GpioButtons(new GpioController(new FakeGpioDriver()), new ButtonPins(5, 5, 13, null, true), _decoder));
        Assert.Contains("pin 5", e.Message, StringComparison.Ordinal);
        Assert.Contains("Up", e.Message, StringComparison.Ordinal);
        Assert.Contains("Down", e.Message, StringComparison.Ordinal);
    }
}
