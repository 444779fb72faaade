using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Agent;

/// <summary>A bad value stops the real agent with one line naming the key, the value and the allowed range, and writes nothing.</summary>
public class ConfigValidationTests
{
    [Theory]
    [InlineData("Appliance:Api:TcpPort", "70000", "Appliance:Api:TcpPort=70000 is out of range: allowed 0 to 65535")]
    [InlineData("Appliance:Api:TcpPort", "eighty", "Appliance:Api:TcpPort='eighty' has the wrong type")]
    [InlineData("Appliance:Api:TcpAddress", "localhost:80", "Appliance:Api:TcpAddress='localhost:80' is not an IP address")]
    [InlineData("Appliance:Api:SocketMode", "0777", "Appliance:Api:SocketMode='0777' is invalid: an octal mode from 0600 to 0666 is allowed")]
    [InlineData("Appliance:Store:HistoryCap", "5", "Appliance:Store:HistoryCap=5 is out of range: allowed 100 to 1000000")]
    [InlineData("Appliance:Store:PasswordFile", "/nonexistent/pw", "Appliance:Store:PasswordFile='/nonexistent/pw' does not exist")]
    [InlineData("Appliance:ShutdownTimeout", "00:10:00", "Appliance:ShutdownTimeout=00:10:00 is out of range: allowed 00:00:01 to 00:01:00")]
    [InlineData("Appliance:NodeName", " ", "Appliance:NodeName=' ' is invalid: 1 to 64 characters allowed")]
    [InlineData("Appliance:PartnerTimeout", "3s", "unknown key under Appliance: 'PartnerTimeout'")]
    public async Task Bad_value_stops_the_agent_with_one_clear_line_and_writes_nothing(string key, string value, string expected)
    {
        using var temp = new TempDir();
        var dataDir = temp.File("data");
        await using var agent = new AgentProcess(dataDir, new Dictionary<string, string> { [key] = value });
        agent.Start();

        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var line = Assert.Single(agent.Output, l => l.Contains("invalid configuration", StringComparison.Ordinal));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dataDir), "a rejected configuration must not create the data directory");
    }

    [Fact]
    public async Task Environment_variables_are_validated_like_any_other_source()
    {
        using var temp = new TempDir();
        await using var agent = new AgentProcess(temp.File("data"), environment: new Dictionary<string, string>
        {
            ["APPLIANCE__Store__HistoryCap"] = "99",
        });
        agent.Start();

        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Appliance:Store:HistoryCap=99 is out of range", agent.OutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sources_apply_in_order_config_file_then_environment_then_command_line()
    {
        using var temp = new TempDir();
        var configFile = temp.File("agent.json");
        await File.WriteAllTextAsync(configFile, """{ "Appliance": { "NodeName": "from-file", "Store": { "HistoryCap": 500 } } }""");
        await using var agent = new AgentProcess(temp.File("data"),
            new Dictionary<string, string> { ["Appliance:Store:HistoryCap"] = "700" },
            new Dictionary<string, string> { ["APPLIANCE__NodeName"] = "from-env", ["APPLIANCE__Store__HistoryCap"] = "600" });
        agent.ExtraArguments.AddRange(["--config", configFile]);
        agent.Start();
        await agent.WaitReadyAsync();

        using var http = agent.CreateLocalClient();
        var status = await http.GetStringAsync(new Uri("api/v1/status", UriKind.Relative));
        Assert.Contains("\"nodeName\":\"from-env\"", status, StringComparison.Ordinal); // env beats the file
        agent.AssertNoErrorsLogged();
    }

    [Fact]
    public async Task A_missing_config_file_is_reported_by_name()
    {
        using var temp = new TempDir();
        await using var agent = new AgentProcess(temp.File("data"));
        agent.ExtraArguments.AddRange(["--config", "/nonexistent/agent.json"]);
        agent.Start();

        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("/nonexistent/agent.json", agent.OutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_broker_port_stops_the_agent_with_one_line_and_exit_4()
    {
        using var temp = new TempDir();
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
        await using var agent = new AgentProcess(temp.File("data"), new Dictionary<string, string>
        {
            ["Appliance:Ha:PeerLink:EmbeddedBroker:BindAddress"] = "127.0.0.1",
            ["Appliance:Ha:PeerLink:EmbeddedBroker:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        agent.Start();

        Assert.Equal(4, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("appliance-agent: cannot start listening:", agent.OutputText, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", agent.OutputText, StringComparison.Ordinal); // no stack trace
    }
}
