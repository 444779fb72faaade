using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Agent;

/// <summary>One real agent process shared by the API tests of this class.</summary>
public sealed class RunningAgent : IAsyncLifetime
{
    private readonly TempDir _temp = new();

    public AgentProcess Agent { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Agent = new AgentProcess(_temp.File("data"));
        Agent.Start();
        await Agent.WaitReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await Agent.DisposeAsync();
        _temp.Dispose();
    }
}

public class ApiTests(RunningAgent running) : IClassFixture<RunningAgent>
{
    private readonly AgentProcess _agent = running.Agent;

    [Fact]
    public async Task Load_balancer_probe_answers_the_role_as_json_without_authentication()
    {
        using var http = _agent.CreateTcpClient();
        using var response = await http.GetAsync(new Uri("UVMInterface/api/HighAvailability", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Matches("""^\{"Role":"(Off|Passive|Active)"\}$""", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("application/json", HttpStatusCode.OK)]
    [InlineData("*/*", HttpStatusCode.OK)]
    [InlineData("application/*", HttpStatusCode.OK)]
    [InlineData("text/html", HttpStatusCode.NotAcceptable)]
    [InlineData("application/json;q=0, text/plain", HttpStatusCode.NotAcceptable)]
    public async Task Load_balancer_probe_honours_accept(string accept, HttpStatusCode expected)
    {
        using var http = _agent.CreateTcpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "UVMInterface/api/HighAvailability");
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Check_health_is_200_with_one_line()
    {
        using var http = _agent.CreateTcpClient();
        using var response = await http.GetAsync(new Uri("check_health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("OK\n", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer not-a-token")]
    [InlineData("Basic cm9vdDpjYWx2aW4=")]
    public async Task Authenticated_endpoints_refuse_tcp_callers_without_a_valid_token_with_no_detail(string? authorization)
    {
        using var http = _agent.CreateTcpClient();
        foreach (var path in new[] { "api/v1/status", "api/v1/history" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Local_socket_is_authenticated_and_a_token_it_creates_works_over_tcp_but_cannot_mint_more()
    {
        using var local = _agent.CreateLocalClient();
        using var created = await local.PostAsJsonAsync("api/v1/tokens", new CreateTokenRequest("lb-probe"), ApiJsonContext.Default.CreateTokenRequest);
        created.EnsureSuccessStatusCode();
        var token = (await created.Content.ReadFromJsonAsync(ApiJsonContext.Default.CreatedToken))!.Token;

        using var tcp = _agent.CreateTcpClient();
        tcp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var status = await tcp.GetFromJsonAsync("api/v1/status", ApiJsonContext.Default.AgentStatus);
        Assert.False(string.IsNullOrEmpty(status!.NodeId));

        using var mint = await tcp.PostAsJsonAsync("api/v1/tokens", new CreateTokenRequest("escalate"), ApiJsonContext.Default.CreateTokenRequest);
        Assert.Equal(HttpStatusCode.Forbidden, mint.StatusCode);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("")]
    [InlineData("a-name-that-is-far-too-long-for-a-token")]
    public async Task Bad_token_name_is_rejected_with_the_allowed_form(string name)
    {
        using var local = _agent.CreateLocalClient();
        using var response = await local.PostAsJsonAsync("api/v1/tokens", new CreateTokenRequest(name), ApiJsonContext.Default.CreateTokenRequest);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("1 to 32 characters", (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiError))!.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("10001")]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("2.5")]
    [InlineData("")]
    public async Task History_limit_that_is_not_a_whole_number_in_range_is_a_clear_400(string limit)
    {
        using var local = _agent.CreateLocalClient();
        using var response = await local.GetAsync(new Uri($"api/v1/history?limit={limit}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal($"limit={limit} is not allowed: allowed a whole number from 1 to 10000", (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiError))!.Error);
    }

    [Fact]
    public async Task Set_role_is_refused_with_the_reason_while_unpaired()
    {
        using var local = _agent.CreateLocalClient();
        using var response = await local.PostAsJsonAsync("api/v1/ha/role", new SetRoleRequest(HaRole.Active, "test"), ApiJsonContext.Default.SetRoleRequest);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var result = (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.CommandResult))!;
        Assert.False(result.Ok);
        Assert.StartsWith("not paired:", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_ha_settings_are_rejected_naming_the_setting_and_nothing_changes()
    {
        using var local = _agent.CreateLocalClient();
        var before = await local.GetStringAsync(new Uri("api/v1/ha/settings", UriKind.Relative));
        var bad = new HaSettings { HeartbeatInterval = TimeSpan.FromMilliseconds(50), FencingEnabled = false };
        using var response = await local.PutAsJsonAsync("api/v1/ha/settings", bad, ApiJsonContext.Default.HaSettings);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("HeartbeatInterval", (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiError))!.Error, StringComparison.Ordinal);
        Assert.Equal(before, await local.GetStringAsync(new Uri("api/v1/ha/settings", UriKind.Relative)));

        var fencingWithoutBmc = new HaSettings { FencingEnabled = true };
        using var refused = await local.PutAsJsonAsync("api/v1/ha/settings", fencingWithoutBmc, ApiJsonContext.Default.HaSettings);
        Assert.Contains("Appliance:Ha:Fencing", (await refused.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiError))!.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"Mode":"Fast"}""", "Mode=Fast is not allowed: allowed Automatic | Medium")]
    [InlineData("""{"heartbeatInterval":5}""", "heartbeatInterval=5 is not allowed: allowed 100 ms – 130 s as a duration \"hh:mm:ss[.fff]\"")]
    [InlineData("""{"PartnerFailoverTimeout":"3s"}""", "PartnerFailoverTimeout=3s is not allowed: allowed 300 ms – 10,000 min as a duration \"hh:mm:ss[.fff]\"")]
    [InlineData("""{"fencingEnabled":"yes"}""", "fencingEnabled=yes is not allowed: allowed true | false")]
    [InlineData("""{"connectivityTestTargets":null}""", "connectivityTestTargets=null is not allowed: allowed a list of 0 – 8 entries, each an IP or DNS host (ICMP) or host:port with port 1 – 65535 (TCP)")]
    [InlineData("""{"heartbeatIntervall":"00:00:01"}""", "heartbeatIntervall is not a setting: allowed heartbeatInterval, ")]
    [InlineData("""["Medium"]""", "the body must be a JSON object of HA settings")]
    [InlineData("""{"Mode":""", "the body is not JSON: ")]
    public async Task Ha_settings_that_do_not_bind_are_a_400_naming_the_field_and_what_it_accepts_and_nothing_changes(string body, string expected)
    {
        using var local = _agent.CreateLocalClient();
        var before = await local.GetStringAsync(new Uri("api/v1/ha/settings", UriKind.Relative));
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await local.PutAsync(new Uri("api/v1/ha/settings", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(expected, (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiError))!.Error, StringComparison.Ordinal);
        Assert.Equal(before, await local.GetStringAsync(new Uri("api/v1/ha/settings", UriKind.Relative)));
    }

    [Fact]
    public async Task Ha_settings_take_the_mode_as_FailoverMode_or_Mode_and_show_it_as_failoverMode()
    {
        using var local = _agent.CreateLocalClient();
        foreach (var (name, mode) in new[] { ("FailoverMode", "Medium"), ("Mode", "Automatic"), ("Mode", "Medium"), ("FailoverMode", "Automatic") })
        {
            using var content = new StringContent($$"""{"{{name}}":"{{mode}}","fencingEnabled":false}""", Encoding.UTF8, "application/json");
            using var response = await local.PutAsync(new Uri("api/v1/ha/settings", UriKind.Relative), content);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains($"\"failoverMode\":\"{mode}\"", await local.GetStringAsync(new Uri("api/v1/ha/settings", UriKind.Relative)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Unix_socket_is_mode_0660()
    {
        await Task.Yield();
        var mode = File.GetUnixFileMode(_agent.SocketPath);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, mode);
    }
}

public class SecretsAtRestTests
{
    [Fact]
    public async Task Token_plaintext_and_hash_never_reach_the_database_file()
    {
        using var temp = new TempDir();
        string token;
        await using (var agent = new AgentProcess(temp.File("data")))
        {
            agent.Start();
            await agent.WaitReadyAsync();
            using var local = agent.CreateLocalClient();
            using var created = await local.PostAsJsonAsync("api/v1/tokens", new CreateTokenRequest("automation"), ApiJsonContext.Default.CreateTokenRequest);
            token = (await created.Content.ReadFromJsonAsync(ApiJsonContext.Default.CreatedToken))!.Token;
            agent.Signal(Signals.SIGTERM);
            await agent.WaitForExitAsync(TimeSpan.FromSeconds(5));
            Assert.DoesNotContain(token, agent.OutputText, StringComparison.Ordinal);
        }

        var bytes = await File.ReadAllBytesAsync(Path.Combine(temp.File("data"), "appliance.db"));
        var text = Encoding.Latin1.GetString(bytes);
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        Assert.DoesNotContain(token, text, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("api-token:automation", text, StringComparison.Ordinal); // the record is there, encrypted
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(temp.File("data"), "secrets.key")));
    }
}
