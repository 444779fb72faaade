using System.Net;
using System.Net.Http.Json;
using Appliance.Core.Api;
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

    [Fact]
    public async Task A_failed_start_up_stop_is_retried_by_the_stray_check_and_health_recovers_when_it_succeeds()
    {
        using var temp = new TempDir();
        string failReload = temp.File("fail-reload");
        string calls = temp.File("calls");
        await File.WriteAllTextAsync(failReload, "");
        string systemctl = SystemctlFailingReloadWhile(temp, failReload, calls);
        await using var agent = new AgentProcess(temp.File("data"), HookTestKit.ManagedWebService(temp, systemctl, "00:00:01"));
        await AssertRetriedUntilItSucceedsAsync(agent, failReload, calls, l => l == "daemon-reload",
            "could not stop the managed services at start", "the managed services are now stopped and bound to the agent");
        Assert.True(File.Exists(Path.Combine(temp.File("dropins"), "web.service.d", "50-appliance-agent.conf")));
    }

    /// <summary>
    /// The stray check only retries on a node that must not run the services; a node promoted first retries the
    /// binding in its start, and its start problem ends there, not at its next demotion.
    /// </summary>
    [Fact]
    public async Task A_promotion_retries_a_failed_start_up_binding_and_health_recovers_when_it_succeeds()
    {
        using var temp = new TempDir();
        string failReload = temp.File("fail-reload");
        await File.WriteAllTextAsync(failReload, "");
        string systemctl = SystemctlFailingReloadWhile(temp, failReload, temp.File("calls"));
        await using var pair = await AgentPair.StartEmbeddedAsync(HookTestKit.ManagedWebService(temp, systemctl, "01:00:00"));
        var (active, passive) = await pair.SettledAsync(TimeSpan.FromSeconds(30));
        using (var http = active.CreateTcpClient())
        {
            // Promoted while the binding still fails: the services run, and health says they are unbound.
            using HttpResponseMessage unbound = await http.GetAsync(new Uri("check_health", UriKind.Relative));
            Assert.Equal(HttpStatusCode.InternalServerError, unbound.StatusCode);
            Assert.Contains("Access denied", await unbound.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        File.Delete(failReload);
        using (var local = passive.CreateLocalClient())
        {
            using var switched = await local.PostAsJsonAsync("api/v1/ha/become-primary", new SwitchRequest(false, false), ApiJsonContext.Default.SwitchRequest);
            Assert.Equal(HttpStatusCode.OK, switched.StatusCode);
        }

        using var promoted = passive.CreateTcpClient();
        // The services start before the engine shows Active: health can turn first.
        await Poll.UntilAsync(async () => await AgentPair.RoleAsync(passive) == "Active" && await StatusAsync(promoted) == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), () => "Active and healthy once promoted: " + passive.OutputText);
        string history = await AgentPair.HistoryTextAsync(passive);
        Assert.Contains("the managed services are now started and bound to the agent", history, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(temp.File("dropins"), "web.service.d", "50-appliance-agent.conf")));
    }

    [Fact]
    public async Task A_failed_start_up_release_of_the_shared_address_is_retried_and_health_recovers_when_it_succeeds()
    {
        using var temp = new TempDir();
        string failDel = temp.File("fail-del");
        string calls = temp.File("calls");
        await File.WriteAllTextAsync(failDel, "");
        string ip = HookTestKit.Script(temp.File("ip"), $"""
            echo "$*" >> {calls}
            if [ "$3" = del ] && [ -e {failDel} ]; then echo 'RTNETLINK answers: Operation not permitted' >&2; exit 2; fi
            exit 0

            """);
        await using var agent = new AgentProcess(temp.File("data"), new Dictionary<string, string>
        {
            ["Appliance:Ha:SharedAddress:Address"] = "192.0.2.50/24",
            ["Appliance:Ha:SharedAddress:Interface"] = "eth-test",
            ["Appliance:Ha:SharedAddress:IpPath"] = ip,
            ["Appliance:Ha:Services:StrayCheckInterval"] = "00:00:01",
        });
        await AssertRetriedUntilItSucceedsAsync(agent, failDel, calls, l => l.Contains("addr del", StringComparison.Ordinal),
            "could not release the shared address at start", "the shared address is now released");
        Assert.Equal("-4 addr del 192.0.2.50/24 dev eth-test", File.ReadLines(calls).Last());
    }

    /// <summary>
    /// Starts <paramref name="agent"/>, whose start step fails while <paramref name="failFlag"/> exists: unhealthy with
    /// <paramref name="problem"/>, still so after a failed retry (a second call matching <paramref name="isRetriedCall"/>
    /// in <paramref name="calls"/>), healthy once the flag is gone, with <paramref name="recovered"/> in history.
    /// </summary>
    private static async Task AssertRetriedUntilItSucceedsAsync(
        AgentProcess agent, string failFlag, string calls, Func<string, bool> isRetriedCall, string problem, string recovered)
    {
        agent.Start();
        using var http = agent.CreateTcpClient();
        using (HttpResponseMessage failed = await Poll.FirstAnswerAsync(http, "check_health", TimeSpan.FromSeconds(30), () => "check_health answering: " + agent.OutputText))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.Contains(problem, await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A retry that fails again changes nothing.
        await Poll.UntilAsync(() => File.ReadLines(calls).Count(isRetriedCall) >= 2, TimeSpan.FromSeconds(30), () => "a retried start step");
        Assert.Equal(HttpStatusCode.InternalServerError, await StatusAsync(http));

        File.Delete(failFlag);

        await Poll.UntilAsync(async () => await StatusAsync(http) == HttpStatusCode.OK, TimeSpan.FromSeconds(30), () => "healthy after the retry: " + agent.OutputText);
        Assert.Contains(recovered, await AgentPair.HistoryTextAsync(agent), StringComparison.Ordinal);
    }

    /// <summary>A systemctl that records its calls in <paramref name="calls"/>, refuses daemon-reload while <paramref name="failFlag"/> exists and reports every unit inactive.</summary>
    private static string SystemctlFailingReloadWhile(TempDir temp, string failFlag, string calls) =>
        HookTestKit.Script(temp.File("systemctl"), $"""
            echo "$*" >> {calls}
            case "$1" in
              daemon-reload) if [ -e {failFlag} ]; then echo 'Access denied' >&2; exit 1; fi ;;
              is-active) echo inactive; exit 3 ;;
            esac
            exit 0

            """);

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http)
    {
        using HttpResponseMessage response = await http.GetAsync(new Uri("check_health", UriKind.Relative));
        return response.StatusCode;
    }
}
