using System.Text.Json;
using Appliance.Core.Api;
using Appliance.Tests.Agent;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Ctl;

/// <summary>The real appliancectl against a real agent process.</summary>
public class CtlTests(RunningAgent running) : IClassFixture<RunningAgent>
{
    private readonly AgentProcess _agent = running.Agent;

    private Task<CtlProcess.Result> Ctl(params string[] args) => CtlProcess.RunAsync(["--socket", _agent.SocketPath, .. args]);

    [Fact]
    public async Task Status_prints_an_aligned_table_that_fits_80_columns()
    {
        var result = await Ctl("status");
        Assert.Equal(0, result.ExitCode);
        var lines = result.StdOut.TrimEnd('\n').Split('\n');
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"line wider than 80: '{l}'"));
        Assert.True(lines.Length <= 24, "status must fit one 80x24 screen");
        Assert.Matches(@"^Role +(Off|Passive|Active)$", lines.Single(l => l.StartsWith("Role ", StringComparison.Ordinal)));
        Assert.DoesNotContain('\u001b', result.StdOut); // no colour escapes on a pipe
        var valueColumn = lines[0].IndexOf("VALUE", StringComparison.Ordinal);
        Assert.All(lines.Skip(2), l => Assert.Equal(' ', l[valueColumn - 1]));
    }

    [Fact]
    public async Task Status_json_is_the_api_contract()
    {
        var result = await Ctl("status", "--json");
        Assert.Equal(0, result.ExitCode);
        var status = JsonSerializer.Deserialize(result.StdOut, ApiJsonContext.Default.AgentStatus)!;
        Assert.Matches("^[0-9a-f]{16}$", status.NodeId);
        Assert.True(status.Healthy);
    }

    [Fact]
    public async Task History_lists_the_agent_start_newest_first()
    {
        var result = await Ctl("history", "--limit", "5");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("started (boot 1", result.StdOut, StringComparison.Ordinal);
        var json = await Ctl("history", "--json");
        var entries = JsonSerializer.Deserialize(json.StdOut, ApiJsonContext.Default.HistoryEntryArray)!;
        Assert.Equal(entries.OrderByDescending(e => e.Id).Select(e => e.Id), entries.Select(e => e.Id));
    }

    [Fact]
    public async Task Version_prints_both_versions()
    {
        var result = await Ctl("version");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"appliancectl \d+\.\d+\.\d+\nappliance-agent \d+\.\d+\.\d+ ", result.StdOut);
    }

    [Theory]
    [InlineData("history", "--limit", "0")]
    [InlineData("no-such-verb")]
    [InlineData("status", "--bogus")]
    public async Task Usage_errors_exit_2_with_a_message(params string[] args)
    {
        var result = await Ctl(args);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("appliancectl: ", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_agent_exits_3_naming_the_socket_it_tried()
    {
        var result = await CtlProcess.RunAsync(["status", "--socket", "/tmp/no-agent-here.sock"]);
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("agent not reachable: tried /tmp/no-agent-here.sock (no such socket)", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Socket_comes_from_the_environment_when_not_given()
    {
        var result = await CtlProcess.RunAsync(["status", "--json"], new Dictionary<string, string> { ["APPLIANCE_SOCKET"] = _agent.SocketPath });
        Assert.Equal(0, result.ExitCode);
    }

    [Theory]
    [InlineData("FailoverMode")]
    [InlineData("Mode")]
    public async Task Ha_settings_set_takes_the_mode_by_either_name_and_prints_it_as_failoverMode(string name)
    {
        try
        {
            var result = await Ctl("ha", "settings", "--set", $"{name}=Medium");
            Assert.Equal(0, result.ExitCode);
            Assert.Matches("(?m)^failoverMode +Medium$", result.StdOut);
            Assert.Matches("(?m)^failoverMode +Medium$", (await Ctl("ha", "settings")).StdOut);
        }
        finally
        {
            await Ctl("ha", "settings", "--set", "FailoverMode=Automatic");
        }
    }

    [Fact]
    public async Task A_request_the_agent_refuses_prints_its_reason_on_one_line_and_exits_1()
    {
        var result = await Ctl("token", "create", "has space");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("appliancectl: name='has space' is invalid: 1 to 32 characters from A-Z a-z 0-9 . _ - allowed\n", result.StdErr);
    }

    [Fact]
    public async Task Token_create_prints_a_token_once()
    {
        var result = await Ctl("token", "create", "ctl-test");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches("^[A-Za-z0-9_-]{43}\n$", result.StdOut);
    }
}
