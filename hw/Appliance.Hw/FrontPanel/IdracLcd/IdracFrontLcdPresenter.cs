using Appliance.Core.Panel;
using Appliance.Core.Ports;
using Microsoft.Extensions.Logging;

namespace Appliance.Hw.FrontPanel.IdracLcd;

/// <summary>
/// Display-only front panel on a Dell PowerEdge: writes role and address (see <see cref="FrontLcdText"/>) to the
/// LCD's user string through the BMC, and only when the text changed — each write is a BMC round trip.
/// </summary>
public sealed partial class IdracFrontLcdPresenter
{
    /// <summary>How often the status is re-read; the LCD is written only on change.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    private readonly IBmcFrontLcd _lcd;
    private readonly ILogger _logger;
    private string? _shown;

    public IdracFrontLcdPresenter(IBmcFrontLcd lcd, ILogger<IdracFrontLcdPresenter> logger)
    {
        ArgumentNullException.ThrowIfNull(lcd);
        ArgumentNullException.ThrowIfNull(logger);
        _lcd = lcd;
        _logger = logger;
    }

    /// <summary>The text last written to the LCD, or null before the first write.</summary>
    public string? Shown => _shown;

    /// <summary>Writes the status text if it differs from what the LCD shows; returns true when it wrote.</summary>
    public async Task<bool> UpdateAsync(PanelStatus status, CancellationToken cancellationToken)
    {
        var text = FrontLcdText.Format(status);
        if (text == _shown)
        {
            return false;
        }

        await _lcd.SetUserStringAsync(text, cancellationToken).ConfigureAwait(false);
        _shown = text;
        LogShown(text);
        return true;
    }

    /// <summary>Polls the status and updates the LCD until cancelled; BMC errors are logged and retried next poll.</summary>
    public async Task RunAsync(IPanelStatusSource source, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var timer = new PeriodicTimer(PollInterval, time);
        do
        {
            try
            {
                await UpdateAsync(await source.GetStatusAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "front LCD shows '{Text}'")]
    private partial void LogShown(string text);

    [LoggerMessage(Level = LogLevel.Warning, Message = "front LCD update through the BMC failed: {Reason}")]
    private partial void LogFailed(string reason);
}
