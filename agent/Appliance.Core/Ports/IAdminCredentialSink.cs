namespace Appliance.Core.Ports;

/// <summary>Where a password reset from the front panel lands (the host stores it hashed and records the event).</summary>
public interface IAdminCredentialSink
{
    /// <summary>Replaces the administrator password. The implementation stores only a hash and never logs the value.</summary>
    Task SetAdminPasswordAsync(string password, CancellationToken cancellationToken);

    /// <summary>
    /// Records "admin password reset from panel" in history and publishes it (MQTT); carries no password.
    /// Called only after <see cref="SetAdminPasswordAsync"/> succeeded.
    /// </summary>
    Task RecordPanelPasswordResetAsync(CancellationToken cancellationToken);
}
