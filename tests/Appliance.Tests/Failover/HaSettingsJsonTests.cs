using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.Agent.Store;
using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Ctl;
using Appliance.Ctl.Commands;

namespace Appliance.Tests.Failover;

/// <summary>Mode, the former name of FailoverMode, keeps working wherever a setting is named.</summary>
public class HaSettingsJsonTests
{
    [Theory]
    [InlineData("FailoverMode")]
    [InlineData("failoverMode")]
    [InlineData("Mode")]
    [InlineData("mode")]
    public void Api_body_names_the_mode_either_way(string name)
    {
        Assert.True(HaSettingsJson.TryRead(JsonNode.Parse($$"""{"{{name}}":"Medium"}"""), ApiJsonContext.Default.HaSettings, out var settings, out var error), error);
        Assert.Equal(FailoverMode.Medium, settings!.FailoverMode);
    }

    [Fact]
    public void A_store_written_before_the_rename_keeps_its_mode()
    {
        var saved = new HaSettings { HeartbeatInterval = TimeSpan.FromSeconds(2), PartnerFailoverTimeout = TimeSpan.FromSeconds(6), FailoverMode = FailoverMode.Medium };
        var stored = JsonSerializer.SerializeToNode(saved, HaStoreJson.Default.HaSettings)!.AsObject();
        stored["Mode"] = stored["FailoverMode"]!.DeepClone(); // what an older agent stored
        Assert.True(stored.Remove("FailoverMode"));

        Assert.True(HaSettingsJson.TryRead(stored, HaStoreJson.Default.HaSettings, out var settings, out var error), error);
        Assert.Equal(Json(saved), Json(settings!));
    }

    [Fact]
    public void A_field_left_out_takes_its_default()
    {
        Assert.True(HaSettingsJson.TryRead(JsonNode.Parse("""{"Mode":"Medium"}"""), ApiJsonContext.Default.HaSettings, out var settings, out var error), error);
        Assert.Equal(Json(new HaSettings { FailoverMode = FailoverMode.Medium }), Json(settings!));
        Assert.Empty(settings!.Validate());
    }

    [Fact]
    public void Both_names_at_once_are_refused()
    {
        Assert.False(HaSettingsJson.TryRead(JsonNode.Parse("""{"Mode":"Medium","failoverMode":"Automatic"}"""), ApiJsonContext.Default.HaSettings, out _, out var error));
        Assert.Equal("Mode and failoverMode name the same setting: give it once", error);
    }

    [Theory]
    [InlineData("FailoverMode=Medium")]
    [InlineData("Mode=Medium")]
    [InlineData("mode=medium")]
    public void Ctl_set_names_the_mode_either_way(string assignment)
    {
        var applied = HaCommand.Apply(new HaSettings(), [assignment]);
        Assert.Equal(Json(new HaSettings { FailoverMode = FailoverMode.Medium }), Json(applied));
    }

    [Fact]
    public void Ctl_set_with_a_bad_mode_names_what_is_allowed()
    {
        var error = Assert.Throws<AgentCommandException>(() => HaCommand.Apply(new HaSettings(), ["Mode=Fast"]));
        Assert.Equal("--set: failoverMode=Fast is not allowed: allowed Automatic | Medium", error.Message);
    }

    /// <summary>Records compare lists by reference; their JSON compares every value.</summary>
    private static string Json(HaSettings settings) => JsonSerializer.Serialize(settings, ApiJsonContext.Default.HaSettings);
}
