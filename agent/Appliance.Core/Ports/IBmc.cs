namespace Appliance.Core.Ports;

/// <summary>Which management protocol drives the BMC.</summary>
public enum BmcKind
{
    /// <summary>No BMC is managed.</summary>
    None,

    /// <summary>IPMI v2.0 through ipmitool (LAN or the local /dev/ipmi0).</summary>
    Ipmi,

    /// <summary>Dell iDRAC Redfish over HTTPS.</summary>
    Redfish,

    /// <summary>Dell racadm, local (in-band) only.</summary>
    Racadm,
}

/// <summary>Where the BMC's IPv4 address comes from.</summary>
public enum BmcIpSource
{
    /// <summary>Configured address, netmask and gateway.</summary>
    Static,

    /// <summary>Leased from a DHCP server.</summary>
    Dhcp,
}

/// <summary>The BMC's LAN settings as read back from it.</summary>
/// <param name="VlanId">802.1Q VLAN id, or null when VLAN tagging is off.</param>
public sealed record BmcLanConfig(
    BmcIpSource IpSource, string Address, string Netmask, string Gateway, int? VlanId, string? MacAddress);

/// <summary>A LAN change. Static needs address, netmask and gateway; DHCP ignores them.</summary>
/// <param name="VlanId">802.1Q VLAN id 1–4094, or null to turn tagging off.</param>
public sealed record BmcLanRequest(BmcIpSource IpSource, string? Address, string? Netmask, string? Gateway, int? VlanId)
{
    /// <summary>Switches the BMC to DHCP, VLAN as given.</summary>
    public static BmcLanRequest Dhcp(int? vlanId = null) => new(BmcIpSource.Dhcp, null, null, null, vlanId);

    /// <summary>A static address.</summary>
    public static BmcLanRequest Static(string address, string netmask, string gateway, int? vlanId = null) =>
        new(BmcIpSource.Static, address, netmask, gateway, vlanId);
}

/// <summary>One BMC user slot.</summary>
/// <param name="Privilege">As the BMC names it (ADMINISTRATOR, Operator, …), or empty.</param>
public sealed record BmcUser(int Id, string Name, bool Enabled, string Privilege);

/// <summary>The management controller itself.</summary>
public sealed record BmcControllerInfo(string FirmwareVersion, string Manufacturer, string? ManufacturerId, string? IpmiVersion);

/// <summary>Identity of the server (FRU / Redfish system): the Dell service tag is what support asks for.</summary>
public sealed record BmcFru(string? ServiceTag, string? SerialNumber, string? ProductName, string? Manufacturer);

/// <summary>Chassis power as reported by the BMC.</summary>
public enum BmcPowerState
{
    /// <summary>The host is powered off.</summary>
    Off,

    /// <summary>The host is powered on.</summary>
    On,
}

/// <summary>A chassis power request.</summary>
public enum BmcPowerAction
{
    /// <summary>Power on.</summary>
    On,

    /// <summary>Hard power off (what fencing uses).</summary>
    Off,

    /// <summary>Off, then on.</summary>
    Cycle,

    /// <summary>ACPI soft shutdown request to the OS.</summary>
    Soft,
}

/// <summary>A sensor's health as the BMC classifies it.</summary>
public enum BmcSensorStatus
{
    /// <summary>Within thresholds.</summary>
    Ok,

    /// <summary>Non-critical threshold crossed (warning).</summary>
    NonCritical,

    /// <summary>Critical threshold crossed.</summary>
    Critical,

    /// <summary>Non-recoverable threshold crossed.</summary>
    NonRecoverable,

    /// <summary>No reading (absent, disabled, or not available).</summary>
    NotAvailable,
}

/// <summary>Threshold values in the sensor's unit; null when the BMC does not define one.</summary>
public sealed record BmcThresholds(
    double? LowerNonRecoverable, double? LowerCritical, double? LowerNonCritical,
    double? UpperNonCritical, double? UpperCritical, double? UpperNonRecoverable)
{
    /// <summary>No thresholds defined.</summary>
    public static BmcThresholds None { get; } = new(null, null, null, null, null, null);
}

/// <summary>One sensor reading (SDR).</summary>
public sealed record BmcSensor(string Name, double? Reading, string Unit, BmcSensorStatus Status, BmcThresholds Thresholds);

/// <summary>The BMC's own severity of a log entry when it states one (Redfish does; IPMI SEL does not).</summary>
public enum BmcLogSeverity
{
    /// <summary>Not stated by the BMC: derive from the text.</summary>
    Unstated,

    /// <summary>Informational.</summary>
    Ok,

    /// <summary>Warning.</summary>
    Warning,

    /// <summary>Critical.</summary>
    Critical,
}

/// <summary>One System Event Log entry.</summary>
/// <param name="Id">The BMC's record id (reused after a clear).</param>
/// <param name="Timestamp">As the BMC prints it (may be "Pre-Init" when its clock is not set).</param>
/// <param name="Asserted">False for a deassertion (the condition went away).</param>
public sealed record BmcSelEntry(
    string Id, string Timestamp, string Sensor, string Description, bool Asserted, BmcLogSeverity Severity);

/// <summary>BMC network settings.</summary>
public interface IBmcNetwork
{
    /// <summary>Reads the BMC's LAN settings.</summary>
    Task<BmcLanConfig> GetLanAsync(CancellationToken cancellationToken);

    /// <summary>Validates, then applies a LAN change; nothing is sent when validation fails.</summary>
    Task SetLanAsync(BmcLanRequest request, CancellationToken cancellationToken);
}

/// <summary>BMC user slots.</summary>
public interface IBmcUsers
{
    /// <summary>Lists the user slots.</summary>
    Task<IReadOnlyList<BmcUser>> ListUsersAsync(CancellationToken cancellationToken);

    /// <summary>Validates, then sets the password of slot <paramref name="userId"/> and enables it.</summary>
    Task SetPasswordAsync(int userId, string password, CancellationToken cancellationToken);
}

/// <summary>Chassis power of the server the BMC sits in.</summary>
public interface IBmcPower
{
    /// <summary>Reads the chassis power state.</summary>
    Task<BmcPowerState> GetPowerStateAsync(CancellationToken cancellationToken);

    /// <summary>Requests a power action (the caller confirms the outcome by reading the state).</summary>
    Task SetPowerAsync(BmcPowerAction action, CancellationToken cancellationToken);
}

/// <summary>Hardware health: sensors and the System Event Log.</summary>
public interface IBmcHealth
{
    /// <summary>Reads all sensors with their thresholds and status.</summary>
    Task<IReadOnlyList<BmcSensor>> ReadSensorsAsync(CancellationToken cancellationToken);

    /// <summary>Reads the System Event Log, oldest first.</summary>
    Task<IReadOnlyList<BmcSelEntry>> ReadEventLogAsync(CancellationToken cancellationToken);

    /// <summary>Clears the System Event Log.</summary>
    Task ClearEventLogAsync(CancellationToken cancellationToken);
}

/// <summary>One BMC behind one protocol: identity plus the role interfaces.</summary>
public interface IBmc : IBmcNetwork, IBmcUsers, IBmcPower, IBmcHealth
{
    /// <summary>The protocol this adapter speaks.</summary>
    BmcKind Kind { get; }

    /// <summary>Firmware version and manufacturer of the controller.</summary>
    Task<BmcControllerInfo> GetControllerInfoAsync(CancellationToken cancellationToken);

    /// <summary>Service tag, serial and product of the server.</summary>
    Task<BmcFru> GetFruAsync(CancellationToken cancellationToken);
}
