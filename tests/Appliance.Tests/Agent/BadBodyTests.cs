using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Appliance.Core.Api;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Agent;

/// <summary>
/// Every endpoint with a JSON body answers a body that does not bind with a 400 naming the field, the value (never a
/// secret's) and what the field accepts, and nothing changes — one mechanism (ApiGate), not one per endpoint.
/// </summary>
public class BadBodyTests(RunningAgent running) : IClassFixture<RunningAgent>
{
    private readonly AgentProcess _agent = running.Agent;

    [Theory]
    [InlineData("POST", "ha/role", """{"role":"Boss"}""", "role=Boss is not allowed: allowed Active | Passive")]
    [InlineData("POST", "ha/role", """{"role":""", "the body is not JSON: Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed. LineNumber: 0 | BytePositionInLine: 8.")]
    [InlineData("POST", "ha/role", "", "the body is empty: a JSON object with role (Active | Passive), cause (a string) is required")]
    [InlineData("POST", "ha/role", "null", "the body is empty: a JSON object with role (Active | Passive), cause (a string) is required")]
    [InlineData("POST", "ha/role", """{"role":1}""", "role=1 is not allowed: allowed Active | Passive")]
    [InlineData("POST", "ha/role", """{"role":"Active","Role":"Passive"}""", "role and Role name the same field: give it once")]
    [InlineData("POST", "ha/become-primary", """{"synch":true}""", "synch is not a field of this body: allowed sync, evenIfUnreachable")]
    [InlineData("PUT", "bmc/net", """{"ipSource":0}""", "ipSource=0 is not allowed: allowed Static | Dhcp")]
    [InlineData("POST", "ha/role", """{"role":"Active","role":"Passive"}""", "the body is not JSON: Duplicate property 'role' encountered during deserialization.")]
    [InlineData("POST", "ha/establish", """{"peerHost":"10.0.0.6","peerPort":"1883x","keyBase64":"AAAA"}""", "peerPort=1883x is not allowed: allowed a whole number")]
    [InlineData("POST", "ha/establish", """{"peerHost":"10.0.0.6","peerPort":1883,"keyBase64":12345}""", "keyBase64=*** is not allowed: allowed a string")]
    [InlineData("POST", "ha/rotate-key", "[]", "the body must be a JSON object with keyBase64 (a string)")]
    [InlineData("POST", "ha/become-primary", """{"sync":"yes"}""", "sync=yes is not allowed: allowed true | false")]
    [InlineData("POST", "ha/become-backup", """{"sync":false,"evenIfUnreachable":1}""", "evenIfUnreachable=1 is not allowed: allowed true | false")]
    [InlineData("POST", "ha/shutdown", """{"reboot":null}""", "reboot=null is not allowed: allowed true | false")]
    [InlineData("POST", "tokens", """{"name":["lb1"]}""", """name=["lb1"] is not allowed: allowed a string""")]
    [InlineData("POST", "bmc/users/2/password", """{"password":12345678}""", "password=*** is not allowed: allowed a string")]
    [InlineData("PUT", "bmc/net", """{"ipSource":"Manual"}""", "ipSource=Manual is not allowed: allowed Static | Dhcp")]
    [InlineData("POST", "panel/press", """{"key":"up","holdMs":"long"}""", "holdMs=long is not allowed: allowed null or a whole number")]
    [InlineData("PUT", "panel/settings", """{"buttonsEnabled":"yes"}""", "buttonsEnabled=yes is not allowed: allowed true | false")]
    public async Task A_body_that_does_not_bind_is_a_400_naming_the_field_and_what_it_accepts_and_nothing_changes(string method, string path, string body, string expected)
    {
        using var local = _agent.CreateLocalClient();
        var before = await StateAsync(local);

        using var response = await SendAsync(local, method, path, body, "application/json");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(expected, (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiError))!.Error);
        Assert.Equal(before, await StateAsync(local));
    }

    [Fact]
    public async Task A_body_that_is_not_declared_json_is_a_415_saying_what_is_expected()
    {
        using var local = _agent.CreateLocalClient();
        using var response = await SendAsync(local, "POST", "ha/role", """{"role":"Active"}""", "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("Content-Type 'text/plain; charset=utf-8' is not allowed: allowed application/json", (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiError))!.Error);
    }

    /// <summary>The caller is checked before the body is read: an unknown one learns nothing about what a body should be.</summary>
    [Fact]
    public async Task An_unauthenticated_caller_with_a_bad_body_gets_an_empty_401()
    {
        using var tcp = _agent.CreateTcpClient();
        using var response = await SendAsync(tcp, "POST", "ha/role", """{"role":"Boss"}""", "application/json");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, string method, string path, string body, string mediaType)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), "api/v1/" + path) { Content = new StringContent(body, Encoding.UTF8, mediaType) };
        return await http.SendAsync(request);
    }

    /// <summary>What a refused request could have changed: role, pairing, settings (HA and panel) and the history.</summary>
    private static async Task<string> StateAsync(HttpClient local)
    {
        var state = new StringBuilder();
        foreach (var path in new[] { "ha/status", "ha/settings", "panel/settings", "history?limit=10" })
        {
            state.AppendLine(await local.GetStringAsync(new Uri("api/v1/" + path, UriKind.Relative)));
        }

        return state.ToString();
    }
}

/// <summary>The wording of <see cref="JsonBodyErrors"/> for the cases the endpoints above do not reach.</summary>
public class JsonBodyErrorsTests
{
    [Theory]
    [InlineData("""{"role":"Active","cause":7}""", "cause=7 is not allowed: allowed a string")]
    [InlineData("""{"Role":"Boss","whatever":1}""", "Role=Boss is not allowed: allowed Active | Passive")]
    [InlineData("""{"role":"Active","other":{"a":1}}""", "other is not a field of this body: allowed role, cause")]
    [InlineData("""{"role":"Active","cause":null}""", null)]
    [InlineData("\"Active\"", "the body must be a JSON object with role (Active | Passive), cause (a string)")]
    [InlineData("  ", "the body is empty: a JSON object with role (Active | Passive), cause (a string) is required")]
    public void Explains_the_first_field_that_does_not_bind(string body, string? expected) =>
        Assert.Equal(expected, JsonBodyErrors.Explain(body, Web.GetTypeInfo(typeof(SetRoleRequest))));

    [Fact]
    public void A_secret_is_never_quoted_even_when_it_is_the_wrong_kind()
    {
        var error = JsonBodyErrors.Explain("""{"keyBase64":["c2VjcmV0LWtleS1ieXRlcw=="]}""", Web.GetTypeInfo(typeof(RotateKeyRequest)));
        Assert.Equal("keyBase64=*** is not allowed: allowed a string", error);
    }

    private static readonly JsonSerializerOptions Web = RequestOptions();

    private static JsonSerializerOptions RequestOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        RequestJson.Configure(options);
        return options;
    }
}
