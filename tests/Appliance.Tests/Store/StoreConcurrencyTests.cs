using Appliance.Agent.Store;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Store;

/// <summary>The API, the panel and the engine read the store while writes checkpoint it.</summary>
public sealed class StoreConcurrencyTests
{
    [Fact]
    public async Task Reads_running_beside_checkpointing_writes_never_fail()
    {
        using var temp = new TempDir();
        using var store = AgentStore.Open(temp.File("data"), 1000, null, TimeProvider.System);
        using var done = new CancellationTokenSource();
        long reads = 0;

        Task[] readers = [.. Enumerable.Range(0, 8).Select(reader => Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                _ = store.ReadHistory(50);
                _ = store.ReadSetting("ha.settings");
                _ = store.ListSecretNames("token:");
                Interlocked.Increment(ref reads);
            }
        }))];
        for (int i = 0; i < 600; i++)
        {
            store.WriteSetting("ha.settings", $"{{\"n\":{i}}}");
            store.AppendHistory("test", $"write {i}", "concurrency");
        }

        await done.CancelAsync();
        await Task.WhenAll(readers); // a reader that hit LiteDB's "pages in use" error faults here

        Assert.True(Interlocked.Read(ref reads) > 0);
        Assert.Equal("{\"n\":599}", store.ReadSetting("ha.settings"));
        Assert.Equal("write 599", store.ReadHistory(1)[0].Message);
    }
}
