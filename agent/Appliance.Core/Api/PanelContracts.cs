namespace Appliance.Core.Api;

/// <summary>
/// <c>GET /api/v1/panel</c> (and the answer to a press): what the front panel shows now.
/// <paramref name="Kind"/> is the panel kind in use (<c>None</c> when there is no panel; then <paramref name="Lines"/> is empty
/// and <paramref name="Warning"/> says why).
/// </summary>
public sealed record PanelView(string Kind, int Columns, int Rows, IReadOnlyList<string> Lines, bool BacklightOn, string? Warning);

/// <summary>
/// <c>POST /api/v1/panel/press</c>: press <paramref name="Key"/> (up, down, check, back) for <paramref name="HoldMs"/>
/// (0 = a short press, at most 10,000), optionally together with a second key <paramref name="With"/> (a chord).
/// Keys are strings so a bad name gets a message naming it rather than a JSON error.
/// </summary>
public sealed record PanelPressRequest(string? Key, int? HoldMs, string? With);
