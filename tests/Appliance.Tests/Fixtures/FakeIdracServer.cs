using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Appliance.Tests.Fixtures;

/// <summary>
/// An in-test HTTPS server (Kestrel, self-signed certificate) serving the iDRAC 9 Redfish resource shapes
/// the adapter uses, with session login and state. NOT a real iDRAC: it checks what the adapter sends.
/// </summary>
public sealed class FakeIdracServer : IAsyncDisposable
{
    public const string User = "root";
    public const string Password = "calvin";
    private const string Token = "tok-0123456789abcdef";

    private readonly WebApplication _app;
    private readonly List<RecordedRequest> _requests = [];
    private readonly object _gate = new();

    private FakeIdracServer(WebApplication app, X509Certificate2 certificate)
    {
        _app = app;
        Certificate = certificate;
    }

    public sealed record RecordedRequest(string Method, string Path, string Body, bool HadToken);

    public X509Certificate2 Certificate { get; }

    public string Thumbprint => Convert.ToHexString(SHA256.HashData(Certificate.RawData));

    public int Port { get; private set; }

    // Mutable iDRAC state.
    public string Power { get; set; } = "On";

    public Dictionary<string, JsonNode?> ManagerAttributes { get; } = new()
    {
        ["IPv4.1.DHCPEnable"] = "Disabled", ["IPv4Static.1.Address"] = "192.0.2.20", ["IPv4Static.1.Netmask"] = "255.255.255.0",
        ["IPv4Static.1.Gateway"] = "192.0.2.1", ["NIC.1.VLanEnable"] = "Disabled", ["NIC.1.VLanID"] = 1,
    };

    public Dictionary<string, JsonNode?> SystemAttributes { get; } = [];

    public List<JsonObject> Sel { get; } = [];

    public Dictionary<int, JsonObject> Accounts { get; } = Enumerable.Range(1, 16).ToDictionary(id => id, id => new JsonObject
    {
        ["Id"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["UserName"] = id == 2 ? "root" : "",
        ["Enabled"] = id == 2,
        ["RoleId"] = id == 2 ? "Administrator" : "None",
        ["Password"] = null,
    });

    /// <summary>Accepts ForceOff but stays on (a stuck power controller).</summary>
    public bool IgnorePowerOff { get; set; }

    /// <summary>Delay before answering anything (for timeout tests).</summary>
    public TimeSpan ResponseDelay { get; set; }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
                return [.. _requests];
        }
    }

    public static async Task<FakeIdracServer> StartAsync()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=idrac-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o =>
        {
            o.Protocols = HttpProtocols.Http1;
            o.UseHttps(certificate);
        }));
        var app = builder.Build();
        var server = new FakeIdracServer(app, certificate);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Port = new Uri(app.Urls.First()).Port;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Certificate.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var method = context.Request.Method;
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
        var hadToken = context.Request.Headers["X-Auth-Token"] == Token;
        lock (_gate)
            _requests.Add(new RecordedRequest(method, path, body, hadToken));
        if (ResponseDelay > TimeSpan.Zero)
            await Task.Delay(ResponseDelay, context.RequestAborted);

        if (method == "POST" && path == "/redfish/v1/SessionService/Sessions")
        {
            var login = JsonNode.Parse(body);
            if (login?["UserName"]?.GetValue<string>() != User || login?["Password"]?.GetValue<string>() != Password)
            {
                await Error(context, 401, "Unable to complete the operation because an invalid username and/or password is entered.");
                return;
            }

            context.Response.StatusCode = 201;
            context.Response.Headers["X-Auth-Token"] = Token;
            context.Response.Headers.Location = "/redfish/v1/SessionService/Sessions/7";
            await context.Response.WriteAsync("{\"Id\":\"7\"}");
            return;
        }

        if (!hadToken)
        {
            await Error(context, 401, "No valid session.");
            return;
        }

        var json = JsonNode.Parse(body.Length > 0 ? body : "{}")!;
        JsonNode? answer;
        lock (_gate)
            answer = Route(method, path, json, context);
        if (context.Response.StatusCode >= 400 || answer is null)
        {
            if (context.Response.StatusCode == 200)
                context.Response.StatusCode = 204;
            if (answer is not null)
                await context.Response.WriteAsync(answer.ToJsonString());
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(answer.ToJsonString());
    }

    private JsonObject? Route(string method, string path, JsonNode body, HttpContext context)
    {
        const string manager = "/redfish/v1/Managers/iDRAC.Embedded.1";
        const string system = "/redfish/v1/Systems/System.Embedded.1";
        switch (method, path)
        {
            case ("GET", manager):
                return new JsonObject { ["Id"] = "iDRAC.Embedded.1", ["FirmwareVersion"] = "7.10.30.00", ["Model"] = "16G Monolithic" };
            case ("GET", system):
                return new JsonObject
                {
                    ["Id"] = "System.Embedded.1", ["Manufacturer"] = "Dell Inc.", ["Model"] = "PowerEdge R660", ["SKU"] = "7QX4B23",
                    ["SerialNumber"] = "CNFCP0034200AB", ["PowerState"] = Power,
                };
            case ("GET", $"{manager}/EthernetInterfaces/NIC.1"):
                var dhcp = ManagerAttributes["IPv4.1.DHCPEnable"]!.GetValue<string>() == "Enabled";
                return new JsonObject
                {
                    ["Id"] = "NIC.1", ["MACAddress"] = "d0:8e:79:00:00:01",
                    ["IPv4Addresses"] = new JsonArray(new JsonObject
                    {
                        ["Address"] = dhcp ? "192.0.2.150" : ManagerAttributes["IPv4Static.1.Address"]!.DeepClone(),
                        ["SubnetMask"] = ManagerAttributes["IPv4Static.1.Netmask"]!.DeepClone(),
                        ["Gateway"] = ManagerAttributes["IPv4Static.1.Gateway"]!.DeepClone(),
                        ["AddressOrigin"] = dhcp ? "DHCP" : "Static",
                    }),
                    ["VLAN"] = new JsonObject
                    {
                        ["VLANEnable"] = ManagerAttributes["NIC.1.VLanEnable"]!.GetValue<string>() == "Enabled",
                        ["VLANId"] = ManagerAttributes["NIC.1.VLanID"]!.DeepClone(),
                    },
                };
            case ("PATCH", $"{manager}/Attributes"):
                foreach (var (k, v) in body["Attributes"]!.AsObject())
                    ManagerAttributes[k] = v?.DeepClone();
                return new JsonObject { ["@Message.ExtendedInfo"] = new JsonArray(new JsonObject { ["Message"] = "The request completed successfully." }) };
            case ("PATCH", "/redfish/v1/Managers/System.Embedded.1/Attributes"):
                foreach (var (k, v) in body["Attributes"]!.AsObject())
                    SystemAttributes[k] = v?.DeepClone();
                return new JsonObject();
            case ("GET", "/redfish/v1/AccountService/Accounts"):
                return new JsonObject
                {
                    ["Members"] = new JsonArray(Accounts.Keys.Select(id => (JsonNode)new JsonObject { ["@odata.id"] = $"/redfish/v1/AccountService/Accounts/{id}" }).ToArray()),
                };
            case ("POST", $"{system}/Actions/ComputerSystem.Reset"):
                var reset = body["ResetType"]?.GetValue<string>();
                Power = reset switch
                {
                    "On" or "PowerCycle" => "On",
                    "ForceOff" or "GracefulShutdown" when !IgnorePowerOff => "Off",
                    _ => Power,
                };
                if (reset is not ("On" or "ForceOff" or "GracefulShutdown" or "PowerCycle"))
                    return Fail(context, 400, $"The value {reset} for the property ResetType is not in the list of acceptable values.");
                context.Response.StatusCode = 204;
                return null;
            case ("GET", "/redfish/v1/Chassis/System.Embedded.1/Thermal"):
                return new JsonObject
                {
                    ["Temperatures"] = new JsonArray(
                        new JsonObject
                        {
                            ["Name"] = "System Board Inlet Temp", ["ReadingCelsius"] = 23, ["UpperThresholdNonCritical"] = 42,
                            ["UpperThresholdCritical"] = 47, ["LowerThresholdCritical"] = -7, ["LowerThresholdNonCritical"] = 3,
                            ["Status"] = new JsonObject { ["Health"] = "OK", ["State"] = "Enabled" },
                        },
                        new JsonObject
                        {
                            ["Name"] = "CPU1 Temp", ["ReadingCelsius"] = 91, ["UpperThresholdNonCritical"] = 88, ["UpperThresholdCritical"] = 93,
                            ["Status"] = new JsonObject { ["Health"] = "Warning", ["State"] = "Enabled" },
                        }),
                    ["Fans"] = new JsonArray(
                        new JsonObject
                        {
                            ["Name"] = "System Board Fan1A", ["Reading"] = 6240, ["ReadingUnits"] = "RPM", ["LowerThresholdCritical"] = 480,
                            ["Status"] = new JsonObject { ["Health"] = "OK", ["State"] = "Enabled" },
                        },
                        new JsonObject { ["Name"] = "System Board Fan6A", ["Status"] = new JsonObject { ["State"] = "Absent" } }),
                };
            case ("GET", "/redfish/v1/Chassis/System.Embedded.1/Power"):
                return new JsonObject
                {
                    ["Voltages"] = new JsonArray(new JsonObject
                    {
                        ["Name"] = "PS1 Voltage 1", ["ReadingVolts"] = 230, ["Status"] = new JsonObject { ["Health"] = "OK", ["State"] = "Enabled" },
                    }),
                    ["PowerSupplies"] = new JsonArray(new JsonObject
                    {
                        ["Name"] = "PS2 Status", ["Status"] = new JsonObject { ["Health"] = "Critical", ["State"] = "Enabled" },
                    }),
                };
            case ("GET", $"{manager}/LogServices/Sel/Entries"):
                // Newest first, paged like the iDRAC (one member per page here to exercise nextLink).
                var page = int.TryParse(context.Request.Query["$skip"], out var skip) ? skip : 0;
                var ordered = Sel.AsEnumerable().Reverse().ToList();
                var result = new JsonObject { ["Members"] = new JsonArray(ordered.Skip(page).Take(1).Select(e => (JsonNode)e.DeepClone()).ToArray()) };
                if (page + 1 < ordered.Count)
                    result["Members@odata.nextLink"] = $"{manager}/LogServices/Sel/Entries?$skip={page + 1}";
                return result;
            case ("POST", $"{manager}/LogServices/Sel/Actions/LogService.ClearLog"):
                Sel.Clear();
                context.Response.StatusCode = 204;
                return null;
            case ("DELETE", "/redfish/v1/SessionService/Sessions/7"):
                return new JsonObject();
        }

        if (path.StartsWith("/redfish/v1/AccountService/Accounts/", StringComparison.Ordinal)
            && int.TryParse(path[(path.LastIndexOf('/') + 1)..], out var accountId) && Accounts.TryGetValue(accountId, out var account))
        {
            if (method == "GET")
            {
                var shown = (JsonObject)account.DeepClone();
                shown["Password"] = null;
                return shown;
            }

            if (method == "PATCH")
            {
                foreach (var (k, v) in body.AsObject())
                    account[k] = v?.DeepClone();
                return new JsonObject();
            }
        }

        return Fail(context, 404, $"Resource {path} not found.");
    }

    private static JsonObject Fail(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = "A general error has occurred.",
                ["@Message.ExtendedInfo"] = new JsonArray(new JsonObject { ["Message"] = message }),
            },
        };
    }

    private static Task Error(HttpContext context, int status, string message)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(Fail(context, status, message).ToJsonString());
    }
}
