using Appliance.Agent.Ha;
using Appliance.Core.Heartbeat;

namespace Appliance.Tests.Ha;

public sealed class RejectionReportTests
{
    private static Dictionary<RejectReason, long> Counts(params (RejectReason Reason, long Count)[] counts) =>
        Enum.GetValues<RejectReason>().ToDictionary(r => r, r => counts.FirstOrDefault(c => c.Reason == r).Count);

    [Fact]
    public void Reports_only_what_was_added_since_the_last_tick_and_flags_all_but_routine_rejections()
    {
        var report = new RejectionReport();

        Assert.Null(report.Next(Counts()));
        Assert.Equal((false, "rejected peer messages: StaleWill +1 (total 1)"), report.Next(Counts((RejectReason.StaleWill, 1))));
        Assert.Null(report.Next(Counts((RejectReason.StaleWill, 1))));
        Assert.Equal(
            (true, "rejected peer messages: BadSignature +40 (total 40), StaleWill +2 (total 3)"),
            report.Next(Counts((RejectReason.BadSignature, 40), (RejectReason.StaleWill, 3))));
    }

    [Fact]
    public void A_new_pairing_counts_from_zero_again()
    {
        var report = new RejectionReport();
        report.Next(Counts((RejectReason.TooOld, 5)));

        Assert.Null(report.Next(null)); // unpaired
        Assert.Equal((true, "rejected peer messages: TooOld +2 (total 2)"), report.Next(Counts((RejectReason.TooOld, 2))));
    }
}
