using Appliance.Core.Api;
using Appliance.Core.Failover;
using Appliance.Ctl;
using Appliance.Ctl.Commands;

namespace Appliance.Tests.Ctl;

/// <summary>Whatever the agent prints as a duration (HaSettings.Show), appliancectl reads back as the same value.</summary>
public class DurationParseTests
{
    public static TheoryData<string, TimeSpan> DefaultDurations()
    {
        var defaults = new HaSettings();
        var data = new TheoryData<string, TimeSpan>();
        foreach (var property in ApiJsonContext.Default.HaSettings.Properties.Where(p => p.PropertyType == typeof(TimeSpan)))
        {
            data.Add(property.Name, (TimeSpan)property.Get!(defaults)!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DefaultDurations))]
    public void Every_default_as_the_agent_prints_it_parses_back(string setting, TimeSpan value)
    {
        var printed = HaSettings.Show(value);
        Assert.Equal(value, HaCommand.ParseDuration(setting, printed));
    }

    [Fact]
    public void The_defaults_cover_each_unit_the_agent_prints() =>
        Assert.Equal(["min", "s"], DefaultDurations().Select(row => HaSettings.Show((TimeSpan)row[1]).TrimStart('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')).Distinct().Order());

    [Theory]
    [InlineData(0)]
    [InlineData(1_500)] // 0.15 ms: Show prints fractions of a millisecond
    [InlineData(1_000_000)] // 100 ms
    [InlineData(1_300_000_000)] // 130 s
    [InlineData(6_000_000_000_000)] // 10,000 min
    [InlineData(-600_000_000)] // -1 min, as a refusal prints it
    public void Edge_values_as_the_agent_prints_them_parse_back(long ticks)
    {
        var value = TimeSpan.FromTicks(ticks);
        Assert.Equal(value, HaCommand.ParseDuration("x", HaSettings.Show(value)));
    }

    [Fact]
    public void A_bare_zero_reads_as_the_ranges_print_it() => Assert.Equal(TimeSpan.Zero, HaCommand.ParseDuration("SwitchBackAfter", "0"));

    [Theory]
    [InlineData("14mins")]
    [InlineData("min")]
    [InlineData("3 parsecs")]
    public void Not_a_duration_is_refused_naming_the_setting(string text)
    {
        var error = Assert.Throws<AgentCommandException>(() => HaCommand.ParseDuration("RebootBlackoutWindow", text));
        Assert.StartsWith($"--set RebootBlackoutWindow={text}: not a duration", error.Message, StringComparison.Ordinal);
    }
}
