using Appliance.Agent.Ha;
using Appliance.Core.Failover;
using Appliance.Core.Ports;
using Appliance.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.Tests.Ha;

public sealed class HookedHaEventsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Transitions_and_conflicts_reach_the_inner_sink_and_post_hooks_with_the_current_role()
    {
        string log = _dir.File("log");
        string notify = HookTestKit.Script(_dir.File("notify"), $"echo \"$APPLIANCE_HA_TRIGGER $*\" >> {log}\n");
        var collected = new HookResults(2);
        await using var hooks = new TransitionHooks(new HooksOptions { Notify = new HookCommand { Path = notify } }, new ProcessCommandRunner(),
            NullLogger<TransitionHooks>.Instance, collected.Add);
        var inner = new ListEvents();
        var events = new HookedHaEvents(inner, hooks);

        events.Record(new HaTransition(HaRole.Passive, HaRole.Active, 4, "peer lost"), DateTimeOffset.UnixEpoch);
        events.Notify(HaEventKind.PeerFound, "peer back", DateTimeOffset.UnixEpoch);
        events.Notify(HaEventKind.Conflict, "both Active", DateTimeOffset.UnixEpoch);
        Assert.All(await collected.WaitAsync(), r => Assert.True(r.Ok, r.Summary));

        Assert.Equal(["Passive->Active", "PeerFound: peer back", "Conflict: both Active"], inner.Lines);
        Assert.Equal(["Active Active 4 peer lost", "Conflict Active 4 both Active"], await File.ReadAllLinesAsync(log));
    }

    private sealed class ListEvents : IHaEvents
    {
        public List<string> Lines { get; } = [];

        public void Record(HaTransition transition, DateTimeOffset at) => Lines.Add($"{transition.From}->{transition.To}");

        public void Notify(HaEventKind kind, string message, DateTimeOffset at) => Lines.Add($"{kind}: {message}");
    }
}
