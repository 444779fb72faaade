namespace Appliance.Core.Panel;

/// <summary>
/// The two operator settings of the front panel, persisted by the host.
/// Off by default for the password reset: physical access alone must not grant admin unless the operator opted in.
/// </summary>
/// <param name="ButtonsEnabled">"Buttons on LCD Panel": off ignores every button; the display still shows status.</param>
/// <param name="AllowPasswordReset">"Allow LCD Panel to Reset Administrator Password".</param>
public sealed record PanelSettings(bool ButtonsEnabled = true, bool AllowPasswordReset = false)
{
    public static PanelSettings Default { get; } = new();
}
