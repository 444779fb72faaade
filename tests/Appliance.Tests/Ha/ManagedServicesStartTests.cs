using System.Net;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Ha;

/// <summary>A start step that cannot be done leaves a running, unhealthy agent that says why — never a crash loop.</summary>
public sealed class ManagedServicesStartTests
{
    [Fact]
    public async Task Drop_ins_that_cannot_be_written_make_the_agent_unhealthy_with_the_reason_and_it_keeps_serving()
    {
        using var temp = new TempDir();
        await using var agent = new AgentProcess(temp.File("data"), new Dictionary<string, string>
        {
            ["Appliance:Ha:Services:Kind"] = "Systemd",
            ["Appliance:Ha:Services:Units:0"] = "web.service",
            ["Appliance:Ha:Services:SystemctlPath"] = "/bin/true",
            // /proc refuses new directories: the BindsTo drop-in cannot be installed.
            ["Appliance:Ha:Services:DropInDirectory"] = "/proc/appliance-test-dropins",
            ["Appliance:Ha:Services:StopListPath"] = temp.File("managed-units"),
        });
        agent.Start();
        using var http = agent.CreateTcpClient();

        using HttpResponseMessage health = await Poll.FirstAnswerAsync(http, "check_health", TimeSpan.FromSeconds(30), () => "check_health answering: " + agent.OutputText);

        Assert.Equal(HttpStatusCode.InternalServerError, health.StatusCode);
        Assert.Contains("could not stop the managed services at start", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var local = agent.CreateLocalClient();
        string history = await local.GetStringAsync(new Uri("api/v1/history?limit=20", UriKind.Relative));
        Assert.Contains("could not stop the managed services at start", history, StringComparison.Ordinal);
        Assert.Contains("/proc/appliance-test-dropins", history, StringComparison.Ordinal);
        Assert.Equal("{\"Role\":\"Off\"}", await http.GetStringAsync(new Uri("UVMInterface/api/HighAvailability", UriKind.Relative)));
        Assert.False(agent.HasExited);
    }
}
