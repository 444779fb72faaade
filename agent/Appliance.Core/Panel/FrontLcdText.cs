using Appliance.Core.Ports;

namespace Appliance.Core.Panel;

/// <summary>The one line a Dell PowerEdge front LCD shows: role and address within <see cref="IBmcFrontLcd.MaxLength"/> characters.</summary>
public static class FrontLcdText
{
    /// <summary>
    /// <c>ACTIVE 10.0.0.5</c> is 15 characters, one more than the LCD holds, so the role is shortened step by step
    /// (<c>ACTIVE</c>, <c>ACT</c>, <c>A</c>) until role and address fit. An address that cannot fit even then
    /// (a long IPv6) is left out rather than cut: a truncated address would be wrong information.
    /// </summary>
    public static string Format(PanelStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var role = PanelMenu.RoleText(status.Role);
        var address = status.PrimaryAddress;
        if (address is null)
        {
            return role;
        }

        foreach (var roleText in new[] { role, role[..3], role[..1] })
        {
            var text = roleText + " " + address;
            if (text.Length <= IBmcFrontLcd.MaxLength)
            {
                return text;
            }
        }

        return role;
    }
}
