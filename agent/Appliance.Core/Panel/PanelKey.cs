namespace Appliance.Core.Panel;

/// <summary>The front-panel buttons. Back is optional hardware; Check selects and accepts.</summary>
public enum PanelKey
{
    Up,
    Down,
    Check,
    Back,
}

/// <summary>What the button decoder recognised.</summary>
public enum PanelGestureKind
{
    /// <summary>A key went down and came up again before the hold time.</summary>
    Press,

    /// <summary>A single key stayed down for the hold time (fires while it is still held).</summary>
    Hold,

    /// <summary>Up and Down stayed down together for the hold time.</summary>
    UpDownChord,
}

/// <summary>One decoded button gesture. For <see cref="PanelGestureKind.UpDownChord"/> the key is <see cref="PanelKey.Up"/>.</summary>
public readonly record struct PanelGesture(PanelGestureKind Kind, PanelKey Key)
{
    public static PanelGesture Press(PanelKey key) => new(PanelGestureKind.Press, key);

    public static PanelGesture Hold(PanelKey key) => new(PanelGestureKind.Hold, key);

    public static PanelGesture UpDownChord { get; } = new(PanelGestureKind.UpDownChord, PanelKey.Up);

    public override string ToString() => Kind == PanelGestureKind.UpDownChord ? "chord up+down" : $"{Kind.ToString().ToLowerInvariant()} {Key.ToString().ToLowerInvariant()}";
}

/// <summary>Receives decoded gestures (the panel controller).</summary>
public interface IPanelGestureSink
{
    void OnGesture(PanelGesture gesture);
}

/// <summary>Receives raw button levels (GPIO edges, simulated presses) before debounce.</summary>
public interface IButtonLevelSink
{
    void OnLevel(PanelKey key, bool pressed);
}
