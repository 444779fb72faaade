using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.Core.Ports;

namespace Appliance.Hw.Bmc;

/// <summary>
/// Dell iDRAC 8/9 over Redfish (HTTPS). Logs in with a session (X-Auth-Token, re-created once on 401),
/// trusts the certificate by SHA-256 pin when configured, otherwise by system trust.
/// </summary>
public sealed class RedfishBmc : IBmc, IBmcFrontLcd, IAsyncDisposable, IDisposable
{
    /// <summary>iDRAC's fixed account slots (1 is reserved).</summary>
    public const int MinUserId = 2, MaxUserId = 16;

    internal const string Manager = "/redfish/v1/Managers/iDRAC.Embedded.1";
    internal const string System = "/redfish/v1/Systems/System.Embedded.1";
    internal const string Chassis = "/redfish/v1/Chassis/System.Embedded.1";
    internal const string Sessions = "/redfish/v1/SessionService/Sessions";
    internal const string Accounts = "/redfish/v1/AccountService/Accounts";
    internal const string SystemAttributes = "/redfish/v1/Managers/System.Embedded.1/Attributes";

    private readonly BmcOptions _options;
    private readonly Func<string> _readPassword;
    private readonly HttpClient _http;
    private readonly string _target;
    private readonly SemaphoreSlim _loginLock = new(1, 1);
    private string? _token;
    private string? _sessionUri;
    private string? _seenThumbprint;
    private bool _disposed;

    /// <summary>Creates the adapter; no connection is made until the first call.</summary>
    public RedfishBmc(BmcOptions options, Func<string> readPassword)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _readPassword = readPassword;
        var port = options.EffectivePort(BmcKind.Redfish);
        _target = $"iDRAC {options.Host}:{port}";
        var pin = options.CertificateThumbprint is { } p ? BmcOptions.NormalizeThumbprint(p) : null;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.CommandTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null)
                        return false;
                    _seenThumbprint = Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData()));
                    return pin is null ? errors == SslPolicyErrors.None : string.Equals(pin, _seenThumbprint, StringComparison.Ordinal);
                },
            },
        };
        _http = new HttpClient(handler)
        {
            BaseAddress = new Uri($"https://{(options.Host!.Contains(':', StringComparison.Ordinal) ? $"[{options.Host}]" : options.Host)}:{port}"),
            Timeout = options.CommandTimeout,
        };
    }

    /// <inheritdoc />
    public BmcKind Kind => BmcKind.Redfish;

    /// <inheritdoc />
    public async Task<BmcLanConfig> GetLanAsync(CancellationToken cancellationToken)
    {
        var nic = await GetAsync($"{Manager}/EthernetInterfaces/NIC.1", cancellationToken);
        var ipv4 = (nic["IPv4Addresses"] as JsonArray)?.FirstOrDefault()
            ?? throw Invalid("EthernetInterfaces/NIC.1 has no IPv4Addresses");
        var vlan = nic["VLAN"];
        var vlanOn = vlan?["VLANEnable"]?.GetValue<bool>() == true;
        return new BmcLanConfig(
            string.Equals(Str(ipv4, "AddressOrigin"), "DHCP", StringComparison.OrdinalIgnoreCase) ? BmcIpSource.Dhcp : BmcIpSource.Static,
            Str(ipv4, "Address") ?? "", Str(ipv4, "SubnetMask") ?? "", Str(ipv4, "Gateway") ?? "",
            vlanOn ? vlan?["VLANId"]?.GetValue<int>() : null,
            Str(nic, "MACAddress"));
    }

    /// <inheritdoc />
    public Task SetLanAsync(BmcLanRequest request, CancellationToken cancellationToken)
    {
        var addresses = BmcRequestValidator.ValidateLan(request);
        var attributes = new JsonObject { ["IPv4.1.DHCPEnable"] = addresses is null ? "Enabled" : "Disabled" };
        if (addresses is { } a)
        {
            attributes["IPv4Static.1.Address"] = a.Address.ToString();
            attributes["IPv4Static.1.Netmask"] = a.Netmask.ToString();
            attributes["IPv4Static.1.Gateway"] = a.Gateway.ToString();
        }

        attributes["NIC.1.VLanEnable"] = request.VlanId is null ? "Disabled" : "Enabled";
        if (request.VlanId is { } vlan)
            attributes["NIC.1.VLanID"] = vlan;
        return SendAsync(HttpMethod.Patch, $"{Manager}/Attributes", new JsonObject { ["Attributes"] = attributes }, "set LAN", cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<BmcUser>> ListUsersAsync(CancellationToken cancellationToken)
    {
        var collection = await GetAsync(Accounts, cancellationToken);
        var users = new List<BmcUser>();
        foreach (var member in collection["Members"] as JsonArray ?? [])
        {
            var uri = Str(member, "@odata.id") ?? throw Invalid("account member without @odata.id");
            var account = await GetAsync(uri, cancellationToken);
            if (!int.TryParse(Str(account, "Id"), NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < MinUserId)
                continue;
            users.Add(new BmcUser(id, Str(account, "UserName") ?? "", account["Enabled"]?.GetValue<bool>() == true, Str(account, "RoleId") ?? ""));
        }

        return users.OrderBy(u => u.Id).ToList();
    }

    /// <inheritdoc />
    public Task SetPasswordAsync(int userId, string password, CancellationToken cancellationToken)
    {
        BmcRequestValidator.ValidateUserId(userId, MinUserId, MaxUserId);
        BmcRequestValidator.ValidatePassword(password);
        var body = new JsonObject { ["Password"] = password, ["Enabled"] = true };
        return SendAsync(HttpMethod.Patch, $"{Accounts}/{userId.ToString(CultureInfo.InvariantCulture)}", body, $"set password of user {userId}", cancellationToken);
    }

    /// <inheritdoc />
    public async Task<BmcControllerInfo> GetControllerInfoAsync(CancellationToken cancellationToken)
    {
        var manager = await GetAsync(Manager, cancellationToken);
        var manufacturer = Str(manager, "Manufacturer") ?? Str(await GetAsync(System, cancellationToken), "Manufacturer") ?? "";
        return new BmcControllerInfo(Str(manager, "FirmwareVersion") ?? throw Invalid("manager has no FirmwareVersion"),
            manufacturer, null, null);
    }

    /// <inheritdoc />
    public async Task<BmcFru> GetFruAsync(CancellationToken cancellationToken)
    {
        var system = await GetAsync(System, cancellationToken);
        // Dell reports the service tag as the system SKU.
        return new BmcFru(Str(system, "SKU"), Str(system, "SerialNumber"), Str(system, "Model"), Str(system, "Manufacturer"));
    }

    /// <inheritdoc />
    public async Task<BmcPowerState> GetPowerStateAsync(CancellationToken cancellationToken)
    {
        var state = Str(await GetAsync(System, cancellationToken), "PowerState");
        // PoweringOff still draws power: only "Off" counts as off.
        return state switch
        {
            "Off" => BmcPowerState.Off,
            "On" or "PoweringOn" or "PoweringOff" or "Paused" => BmcPowerState.On,
            _ => throw Invalid($"unknown PowerState '{state}'"),
        };
    }

    /// <inheritdoc />
    public Task SetPowerAsync(BmcPowerAction action, CancellationToken cancellationToken)
    {
        var resetType = action switch
        {
            BmcPowerAction.On => "On",
            BmcPowerAction.Off => "ForceOff",
            BmcPowerAction.Cycle => "PowerCycle",
            BmcPowerAction.Soft => "GracefulShutdown",
            _ => throw new BmcValidationException("power action", action.ToString(), "On, Off, Cycle or Soft"),
        };
        return SendAsync(HttpMethod.Post, $"{System}/Actions/ComputerSystem.Reset", new JsonObject { ["ResetType"] = resetType },
            $"power {resetType}", cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<BmcSensor>> ReadSensorsAsync(CancellationToken cancellationToken)
    {
        var thermal = await GetAsync($"{Chassis}/Thermal", cancellationToken);
        var power = await GetAsync($"{Chassis}/Power", cancellationToken);
        var sensors = new List<BmcSensor>();
        AddSensors(sensors, thermal["Temperatures"], "ReadingCelsius", _ => "degrees C");
        AddSensors(sensors, thermal["Fans"], "Reading", n => Str(n, "ReadingUnits") ?? "RPM");
        AddSensors(sensors, power["Voltages"], "ReadingVolts", _ => "Volts");
        AddSensors(sensors, power["PowerSupplies"], "LastPowerOutputWatts", _ => "Watts");
        return sensors;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<BmcSelEntry>> ReadEventLogAsync(CancellationToken cancellationToken)
    {
        var entries = new List<BmcSelEntry>();
        string? next = $"{Manager}/LogServices/Sel/Entries";
        while (next is not null)
        {
            var page = await GetAsync(next, cancellationToken);
            foreach (var m in page["Members"] as JsonArray ?? [])
            {
                if (m is null)
                    continue;
                var severity = Str(m, "Severity") switch
                {
                    "OK" => BmcLogSeverity.Ok,
                    "Warning" => BmcLogSeverity.Warning,
                    "Critical" => BmcLogSeverity.Critical,
                    _ => BmcLogSeverity.Unstated,
                };
                entries.Add(new BmcSelEntry(Str(m, "Id") ?? "", Str(m, "Created") ?? "", Str(m, "SensorType") ?? "",
                    Str(m, "Message") ?? "", !string.Equals(Str(m, "EntryCode"), "Deassert", StringComparison.OrdinalIgnoreCase), severity));
            }

            next = Str(page, "Members@odata.nextLink");
        }

        // iDRAC lists newest first; the port promises oldest first.
        return entries.OrderBy(e => int.TryParse(e.Id, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue).ToList();
    }

    /// <inheritdoc />
    public Task ClearEventLogAsync(CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"{Manager}/LogServices/Sel/Actions/LogService.ClearLog", new JsonObject(), "clear SEL", cancellationToken);

    /// <summary>Dell system attributes LCD.1.Configuration / LCD.1.UserDefinedString (racadm System.LCD.*).</summary>
    public Task SetUserStringAsync(string text, CancellationToken cancellationToken)
    {
        BmcRequestValidator.ValidateLcdText(text);
        var body = new JsonObject
        {
            ["Attributes"] = new JsonObject { ["LCD.1.Configuration"] = "User Defined", ["LCD.1.UserDefinedString"] = text },
        };
        return SendAsync(HttpMethod.Patch, SystemAttributes, body, "set LCD string", cancellationToken);
    }

    /// <summary>Logs the session out (best effort) and releases the connection pool.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        if (_token is not null && _sessionUri is not null)
        {
            try
            {
                using var logout = new HttpRequestMessage(HttpMethod.Delete, _sessionUri);
                logout.Headers.Add("X-Auth-Token", _token);
                using var _ = await _http.SendAsync(logout);
            }
            catch (HttpRequestException)
            {
                // The session expires on the iDRAC by itself; logout is courtesy.
            }
            catch (TaskCanceledException)
            {
                // Same: a slow logout must not block shutdown beyond the request timeout.
            }
        }

        Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _http.Dispose();
        _loginLock.Dispose();
    }

    private static void AddSensors(List<BmcSensor> sensors, JsonNode? array, string readingKey, Func<JsonNode, string> unit)
    {
        foreach (var n in array as JsonArray ?? [])
        {
            if (n is null)
                continue;
            var state = Str(n["Status"], "State");
            if (string.Equals(state, "Absent", StringComparison.OrdinalIgnoreCase))
                continue;
            var status = Str(n["Status"], "Health") switch
            {
                "OK" => BmcSensorStatus.Ok,
                "Warning" => BmcSensorStatus.NonCritical,
                "Critical" => BmcSensorStatus.Critical,
                _ => BmcSensorStatus.NotAvailable,
            };
            var thresholds = new BmcThresholds(Num(n, "LowerThresholdFatal"), Num(n, "LowerThresholdCritical"), Num(n, "LowerThresholdNonCritical"),
                Num(n, "UpperThresholdNonCritical"), Num(n, "UpperThresholdCritical"), Num(n, "UpperThresholdFatal"));
            sensors.Add(new BmcSensor(Str(n, "Name") ?? Str(n, "FanName") ?? Str(n, "MemberId") ?? "", Num(n, readingKey), unit(n), status, thresholds));
        }
    }

    private static string? Str(JsonNode? node, string key) =>
        node?[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : node?[key] is JsonValue n ? n.ToJsonString() : null;

    private static double? Num(JsonNode? node, string key) =>
        node?[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    private BmcException Invalid(string what) => new(BmcErrorKind.InvalidResponse, $"{_target}: {what}");

    private async Task<JsonNode> GetAsync(string path, CancellationToken cancellationToken)
    {
        var body = await SendAsync(HttpMethod.Get, path, null, $"GET {path}", cancellationToken);
        try
        {
            return JsonNode.Parse(body) ?? throw Invalid($"GET {path} returned an empty body");
        }
        catch (JsonException ex)
        {
            throw new BmcException(BmcErrorKind.InvalidResponse, $"{_target}: GET {path} returned invalid JSON: {ex.Message}", ex);
        }
    }

    private async Task<string> SendAsync(HttpMethod method, string path, JsonNode? body, string operation, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var token = await LoginAsync(cancellationToken);
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Add("X-Auth-Token", token);
            if (body is not null)
                request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await ExchangeAsync(request, operation, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 0)
            {
                // The session expired or was deleted on the iDRAC: log in again once.
                Interlocked.CompareExchange(ref _token, null, token);
                continue;
            }

            if (!response.IsSuccessStatusCode)
                throw Failure(response.StatusCode, text, operation);
            return text;
        }
    }

    private async Task<string> LoginAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _token) is { } existing)
            return existing;
        await _loginLock.WaitAsync(cancellationToken);
        try
        {
            if (_token is not null)
                return _token;
            using var request = new HttpRequestMessage(HttpMethod.Post, Sessions)
            {
                Content = new StringContent(new JsonObject { ["UserName"] = _options.User, ["Password"] = _readPassword() }.ToJsonString(),
                    Encoding.UTF8, "application/json"),
            };
            using var response = await ExchangeAsync(request, "login", cancellationToken);
            if (!response.IsSuccessStatusCode)
                throw Failure(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken), "login");
            var token = response.Headers.TryGetValues("X-Auth-Token", out var values) ? values.FirstOrDefault() : null;
            _sessionUri = response.Headers.Location?.ToString();
            _token = token ?? throw Invalid("login answered without an X-Auth-Token header");
            return _token;
        }
        finally
        {
            _loginLock.Release();
        }
    }

    private async Task<HttpResponseMessage> ExchangeAsync(HttpRequestMessage request, string operation, CancellationToken cancellationToken)
    {
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        try
        {
            return await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.InnerException is AuthenticationException)
        {
            var expected = _options.CertificateThumbprint is null ? "a certificate valid under system trust"
                : $"pinned SHA-256 {BmcOptions.NormalizeThumbprint(_options.CertificateThumbprint)}";
            throw new BmcException(BmcErrorKind.UntrustedCertificate,
                $"{_target} presented certificate SHA-256 {_seenThumbprint ?? "(none)"}, expected {expected}; nothing was sent", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new BmcException(BmcErrorKind.Unreachable, $"{_target} does not answer HTTPS during {operation}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BmcException(BmcErrorKind.Timeout,
                $"{_target} did not answer {operation} within {_options.CommandTimeout.TotalSeconds:0.#} s", ex);
        }
    }

    private BmcException Failure(HttpStatusCode status, string body, string operation)
    {
        var message = RedfishMessage(body);
        var code = (int)status;
        return status switch
        {
            HttpStatusCode.Unauthorized => new BmcException(BmcErrorKind.AuthenticationFailed,
                $"{_target} rejected user '{_options.User}' (wrong user name or password) during {operation}"),
            HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented => new BmcException(BmcErrorKind.Unsupported,
                $"{_target} does not support {operation} (HTTP {code}){message}"),
            _ => new BmcException(BmcErrorKind.Rejected, $"{_target} refused {operation} (HTTP {code}){message}"),
        };
    }

    private static string RedfishMessage(string body)
    {
        try
        {
            var error = JsonNode.Parse(body)?["error"];
            var detail = (error?["@Message.ExtendedInfo"] as JsonArray)?.FirstOrDefault()?["Message"]?.GetValue<string>()
                ?? error?["message"]?.GetValue<string>();
            return detail is null ? "" : $": {detail}";
        }
        catch (JsonException)
        {
            return "";
        }
    }
}
