using System.Text.Json;
using Appliance.Agent.Store;
using Appliance.Core.Failover;

namespace Appliance.Tests.Store;

public class HaStoreJsonTests
{
    [Fact]
    public void A_state_saved_before_PeerEpochSeen_existed_loads_with_zero_and_the_field_round_trips()
    {
        const string Saved = """{"Role":"Active","Epoch":4,"PeerNodeId":"0123456789abcdef","Suspended":false,"PairedAt":"2026-03-01T00:00:00+00:00","Cause":"was active"}""";

        var old = JsonSerializer.Deserialize(Saved, HaStoreJson.Default.HaPersistedState)!;
        Assert.Equal(new HaPersistedState(HaRole.Active, 4, "0123456789abcdef", false, new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), "was active"), old);

        var seen = old with { PeerEpochSeen = 7 };
        Assert.Equal(seen, JsonSerializer.Deserialize(JsonSerializer.Serialize(seen, HaStoreJson.Default.HaPersistedState), HaStoreJson.Default.HaPersistedState));
    }
}
