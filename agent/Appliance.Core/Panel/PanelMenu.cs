using System.Globalization;
using Appliance.Core.Failover;
using Appliance.Core.Ports;

namespace Appliance.Core.Panel;

/// <summary>The menu screens, in up/down cycling order. <see cref="Status"/> is the idle home screen.</summary>
public enum PanelScreen
{
    Status,
    ShowIp,
    Role,
    Health,
    Mirror,
    Version,
}

/// <summary>Something the menu decided that the controller must carry out (decisions are data).</summary>
public abstract record PanelEffect;

/// <summary>Set the administrator password (accepted on the panel). ToString never shows the password.</summary>
public sealed record SetAdminPasswordEffect(string Password) : PanelEffect
{
    public override string ToString() => "SetAdminPasswordEffect { Password = *** }";
}

/// <summary>
/// The front-panel menu as a pure state machine: gestures and the clock in, a frame and effects out.
/// <code>
///   Status ⇄ (up/down) ⇄ ShowIp · Role · Health · Mirror · Version   title cards, cycled
///   title --check--> detail pages (up/down) --check/back--> title
///   ShowIp --hold up+down (setting on)--> password offer --check--> applying --> done
///                                          \--other key / 30 s--> ShowIp
///   any screen --60 s idle--> Status, backlight dimmed; the next key only wakes it
/// </code>
/// </summary>
public sealed class PanelMenu
{
    /// <summary>Idle time before the panel returns home and dims.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    /// <summary>An offered password that is not accepted within this time is discarded.</summary>
    public static readonly TimeSpan PasswordOfferTimeout = TimeSpan.FromSeconds(30);

    private static readonly PanelScreen[] Cycle = Enum.GetValues<PanelScreen>();

    private readonly PanelGeometry _geometry;
    private readonly TimeProvider _time;
    private readonly ISecureRandom _random;
    private Mode _mode = Mode.Home;
    private PanelScreen _screen = PanelScreen.Status;
    private int _page;
    private string? _offeredPassword;
    private string _resultMessage = "";
    private long _lastInput;

    public PanelMenu(PanelGeometry geometry, TimeProvider time, ISecureRandom random)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(random);
        _geometry = geometry;
        _time = time;
        _random = random;
        _lastInput = time.GetTimestamp();
    }

    private enum Mode
    {
        Home,
        Title,
        Detail,
        PasswordOffer,
        PasswordApplying,
        PasswordResult,
    }

    public PanelScreen Screen => _screen;

    public bool BacklightOn { get; private set; } = true;

    /// <summary>True while a generated password is on the display, waiting for Check.</summary>
    public bool IsOfferingPassword => _mode == Mode.PasswordOffer;

    /// <summary>Applies one gesture; returns the effects to run (empty for pure navigation).</summary>
    public IReadOnlyList<PanelEffect> Handle(PanelGesture gesture, PanelStatus status, PanelSettings settings)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.ButtonsEnabled)
        {
            return [];
        }

        _lastInput = _time.GetTimestamp();
        if (!BacklightOn)
        {
            BacklightOn = true;
            return [];
        }

        switch (_mode)
        {
            case Mode.PasswordOffer:
                return HandleOffer(gesture);
            case Mode.PasswordApplying:
                return [];
            case Mode.PasswordResult:
                GoTitle(PanelScreen.ShowIp);
                return [];
        }

        if (gesture.Kind == PanelGestureKind.UpDownChord)
        {
            if (_screen == PanelScreen.ShowIp && settings.AllowPasswordReset)
            {
                _offeredPassword = PanelPassword.Generate(_random);
                _mode = Mode.PasswordOffer;
            }

            return [];
        }

        if (gesture.Kind != PanelGestureKind.Press)
        {
            return [];
        }

        switch (_mode, gesture.Key)
        {
            case (Mode.Home or Mode.Title, PanelKey.Up):
                Step(-1);
                break;
            case (Mode.Home or Mode.Title, PanelKey.Down):
                Step(+1);
                break;
            case (Mode.Home, PanelKey.Check):
                Step(+1);
                break;
            case (Mode.Title, PanelKey.Check):
                _mode = Mode.Detail;
                _page = 0;
                break;
            case (Mode.Title, PanelKey.Back):
                GoHome();
                break;
            case (Mode.Detail, PanelKey.Up):
                _page = Math.Max(0, _page - 1);
                break;
            case (Mode.Detail, PanelKey.Down):
                _page = Math.Min(PageCount(status) - 1, _page + 1);
                break;
            case (Mode.Detail, PanelKey.Check or PanelKey.Back):
                GoTitle(_screen);
                break;
        }

        return [];
    }

    private IReadOnlyList<PanelEffect> HandleOffer(PanelGesture gesture)
    {
        var password = _offeredPassword!;
        _offeredPassword = null;
        if (gesture == PanelGesture.Press(PanelKey.Check))
        {
            _mode = Mode.PasswordApplying;
            return [new SetAdminPasswordEffect(password)];
        }

        GoTitle(PanelScreen.ShowIp);
        return [];
    }

    /// <summary>The controller reports how <see cref="SetAdminPasswordEffect"/> ended.</summary>
    public void PasswordApplied(bool succeeded)
    {
        if (_mode != Mode.PasswordApplying)
        {
            return;
        }

        _mode = Mode.PasswordResult;
        _resultMessage = succeeded ? "Password set" : "Reset failed";
        _lastInput = _time.GetTimestamp();
    }

    /// <summary>Applies the timeouts; call it on every refresh.</summary>
    public void Tick()
    {
        var idle = _time.GetElapsedTime(_lastInput);
        if (_mode == Mode.PasswordOffer && idle >= PasswordOfferTimeout)
        {
            _offeredPassword = null;
            GoTitle(PanelScreen.ShowIp);
        }

        if (idle >= IdleTimeout && _mode != Mode.PasswordApplying)
        {
            GoHome();
            BacklightOn = false;
        }
    }

    public PanelFrame Render(PanelStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var lines = _mode switch
        {
            Mode.Home => Content(PanelScreen.Status, status),
            Mode.Title => TitleCard(status),
            Mode.Detail => Page(status),
            Mode.PasswordOffer => PasswordOfferLines(),
            Mode.PasswordApplying => ["Setting password"],
            _ => [_resultMessage, "Press any key"],
        };
        return new PanelFrame(_geometry, lines.Take(_geometry.Rows), BacklightOn) { ContainsSecret = _mode == Mode.PasswordOffer };
    }

    private void Step(int delta)
    {
        var index = (Array.IndexOf(Cycle, _screen) + delta + Cycle.Length) % Cycle.Length;
        _screen = Cycle[index];
        _mode = _screen == PanelScreen.Status ? Mode.Home : Mode.Title;
        _page = 0;
    }

    private void GoTitle(PanelScreen screen)
    {
        _screen = screen;
        _mode = Mode.Title;
        _page = 0;
    }

    private void GoHome()
    {
        _screen = PanelScreen.Status;
        _mode = Mode.Home;
        _page = 0;
        _offeredPassword = null;
    }

    private List<string> TitleCard(PanelStatus status)
    {
        var arrows = $"{PanelGlyph.UpArrow}{PanelGlyph.DownArrow}";
        var title = Title(_screen);
        var head = title.PadRight(_geometry.Columns - arrows.Length)[..(_geometry.Columns - arrows.Length)] + arrows;
        var lines = new List<string> { head };
        lines.AddRange(Content(_screen, status).Take(_geometry.Rows - 1));
        return lines;
    }

    private int PageCount(PanelStatus status) => Math.Max(1, (Content(_screen, status).Count + _geometry.Rows - 1) / _geometry.Rows);

    private List<string> Page(PanelStatus status)
    {
        var content = Content(_screen, status);
        var pages = Math.Max(1, (content.Count + _geometry.Rows - 1) / _geometry.Rows);
        _page = Math.Min(_page, pages - 1);
        var lines = content.Skip(_page * _geometry.Rows).Take(_geometry.Rows)
            .Select(l => PanelFrame.Fit(l, _geometry.Columns)).ToList();
        while (lines.Count < _geometry.Rows)
        {
            lines.Add(new string(' ', _geometry.Columns));
        }

        // Scroll hints in the last column: more above / more below.
        var last = _geometry.Columns - 1;
        if (_page > 0)
        {
            lines[0] = lines[0][..last] + PanelGlyph.UpArrow;
        }

        if (_page < pages - 1)
        {
            lines[^1] = lines[^1][..last] + PanelGlyph.DownArrow;
        }

        return lines;
    }

    private List<string> PasswordOfferLines() =>
    [
        $"New admin pw {PanelGlyph.Check}?",
        _offeredPassword ?? "",
        $"{PanelGlyph.Check} accept",
        "other key: cancel",
    ];

    private static string Title(PanelScreen screen) => screen switch
    {
        PanelScreen.ShowIp => "Show IP",
        PanelScreen.Role => "Role",
        PanelScreen.Health => "Health",
        PanelScreen.Mirror => "Mirror",
        PanelScreen.Version => "Version",
        _ => "Status",
    };

    /// <summary>The role as the panel spells it (also used by the Dell LCD text).</summary>
    public static string RoleText(HaRole role) => role switch
    {
        HaRole.Active => "ACTIVE",
        HaRole.Passive => "PASSIVE",
        HaRole.FailoverPending => "PENDING",
        _ => "OFF",
    };

    private List<string> Content(PanelScreen screen, PanelStatus status)
    {
        var width = _geometry.Columns;
        var lines = new List<string>();
        switch (screen)
        {
            case PanelScreen.Status:
                var peer = status.PeerReachable ? $" {PanelGlyph.Heartbeat}" : "";
                lines.Add(RoleText(status.Role) + peer);
                lines.Add(status.PrimaryAddress ?? "no address");
                lines.AddRange(Wrap(status.HealthSummary, width).Take(1));
                lines.Add(status.LastAlert is { } alert ? "! " + alert : "no alerts");
                break;
            case PanelScreen.ShowIp:
                if (status.Interfaces.Count == 0)
                {
                    lines.Add("no address");
                }

                foreach (var nic in status.Interfaces)
                {
                    lines.Add(nic.CarriesSharedIp ? $"{nic.Name} {PanelGlyph.Check}shared" : nic.Name);
                    lines.Add(nic.Address);
                }

                break;
            case PanelScreen.Role:
                lines.Add("Role " + RoleText(status.Role));
                lines.Add("Epoch " + status.Epoch.ToString(CultureInfo.InvariantCulture));
                lines.Add(status.PeerReachable ? "Peer reachable" : "Peer unreachable");
                break;
            case PanelScreen.Health:
                lines.AddRange(Wrap(status.HealthSummary.Length == 0 ? "no data" : status.HealthSummary, width));
                lines.AddRange(Wrap("Alert: " + (status.LastAlert ?? "none"), width));
                break;
            case PanelScreen.Mirror:
                lines.Add("Mirror " + status.MirrorState);
                lines.Add(status.LastMirrorSync is { } sync
                    ? "Sync " + sync.ToString("MM-dd HH:mm", CultureInfo.InvariantCulture)
                    : "Sync never");
                break;
            case PanelScreen.Version:
                lines.Add("Version");
                lines.AddRange(Wrap(status.Version, width));
                break;
        }

        return lines;
    }

    /// <summary>Word-wraps <paramref name="text"/> to <paramref name="width"/>; words longer than a line are cut.</summary>
    internal static List<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        var current = "";
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = current.Length == 0 ? word : current + " " + word;
            if (candidate.Length <= width)
            {
                current = candidate;
                continue;
            }

            if (current.Length > 0)
            {
                lines.Add(current);
            }

            current = word.Length > width ? word[..width] : word;
        }

        if (current.Length > 0)
        {
            lines.Add(current);
        }

        return lines;
    }
}
