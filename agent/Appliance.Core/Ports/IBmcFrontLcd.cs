namespace Appliance.Core.Ports;

/// <summary>The Dell PowerEdge front LCD's user-defined string (display only; the BMC owns its buttons).</summary>
public interface IBmcFrontLcd
{
    /// <summary>Longest string the Dell LCD shows.</summary>
    const int MaxLength = 14;

    /// <summary>Sets the LCD to user-defined mode showing <paramref name="text"/> (at most <see cref="MaxLength"/> characters).</summary>
    Task SetUserStringAsync(string text, CancellationToken cancellationToken);
}
