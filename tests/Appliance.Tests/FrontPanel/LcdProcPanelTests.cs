using Appliance.Core.Panel;
using Appliance.Hw.FrontPanel;
using Appliance.Tests.Fixtures.LcdProc;
using Appliance.Tests.Panel;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.Tests.FrontPanel;

/// <summary>The LCDproc client against a real LCDd (curses driver in tmux): screens appear, keys reach the menu.</summary>
public sealed class LcdProcPanelTests
{
    private static FrontPanelRuntime StartPanel(LcdProcFixture lcdd, int columns, int rows, MutableStatusSource status, CancellationToken stop, out Task running)
    {
        var runtime = FrontPanelRuntime.Create(
            new PanelOptions { Kind = PanelKind.LcdProc, LcdProcPort = lcdd.Port, Columns = columns, Rows = rows },
            new FrontPanelDependencies(status, new RecordingCredentialSink(), PanelSettings.Default, TimeProvider.System, NullLoggerFactory.Instance));
        Assert.Null(runtime.Warning);
        running = runtime.RunAsync(stop);
        return runtime;
    }

    [Fact]
    public async Task Screens_appear_on_LCDd_and_its_keys_drive_the_menu()
    {
        using var lcdd = LcdProcFixture.Start(20, 4);
        using var stop = new CancellationTokenSource();
        var status = new MutableStatusSource { Status = PanelRig.SampleStatus };
        using var runtime = StartPanel(lcdd, 20, 4, status, stop.Token, out var running);

        await lcdd.WaitForScreenAsync(s => s[0] == "PASSIVE" && s[1] == "10.0.0.5" && s[2] == "CPU 12% MEM 40% DSK" && s[3] == "! disk 71% on /var");
        Assert.Equal((20, 4), runtime.LcdProc!.ServerSize);

        lcdd.Press("Down");
        await lcdd.WaitForScreenAsync(s => s[0] == "Show IP           ^v" && s[1] == "eth0 *shared");
        lcdd.Press("Enter");
        await lcdd.WaitForScreenAsync(s => s[0] == "eth0 *shared" && s[1] == "10.0.0.5" && s[2] == "eth1" && s[3] == "192.168.1.2");
        lcdd.Press("Escape");
        await lcdd.WaitForScreenAsync(s => s[0].StartsWith("Show IP", StringComparison.Ordinal));
        lcdd.Press("Up");
        await lcdd.WaitForScreenAsync(s => s[0] == "PASSIVE");

        // Status changes reach the display through the refresh loop.
        status.Status = PanelRig.SampleStatus with { Role = Core.Failover.HaRole.Active };
        await lcdd.WaitForScreenAsync(s => s[0] == "ACTIVE");

        Assert.True(runtime.LcdProc.Visible);
        Assert.Equal(0, runtime.LcdProc.RefusedCommands);
        Assert.Equal(1, runtime.LcdProc.Connections);
        lcdd.AssertNoErrors();
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task The_client_reconnects_to_a_restarted_LCDd_and_redraws_on_a_16x2()
    {
        using var lcdd = LcdProcFixture.Start(16, 2);
        using var stop = new CancellationTokenSource();
        var status = new MutableStatusSource { Status = PanelRig.SampleStatus };
        using var runtime = StartPanel(lcdd, 16, 2, status, stop.Token, out var running);
        await lcdd.WaitForScreenAsync(s => s[0] == "PASSIVE" && s[1] == "10.0.0.5");

        lcdd.Restart();

        await lcdd.WaitForScreenAsync(s => s[0] == "PASSIVE" && s[1] == "10.0.0.5", TimeSpan.FromSeconds(15));
        Assert.Equal(2, runtime.LcdProc!.Connections);
        lcdd.Press("Down");
        await lcdd.WaitForScreenAsync(s => s[0] == "Show IP       ^v");
        Assert.Equal(0, runtime.LcdProc.RefusedCommands);
        lcdd.AssertNoErrors();
        await stop.CancelAsync();
        await running;
    }
}
