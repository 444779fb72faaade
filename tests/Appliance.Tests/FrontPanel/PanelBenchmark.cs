using System.Diagnostics;
using System.Globalization;
using Appliance.Core.Panel;
using Appliance.Hw.FrontPanel.Hd44780;
using Appliance.Hw.FrontPanel.Simulated;
using Appliance.Tests.Panel;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.Tests.FrontPanel;

/// <summary>Front-panel figures for <c>make bench</c>.</summary>
public sealed record PanelBenchmarkResult(double MedianPressToScreenMs, double MaxPressToScreenMs, long BytesPerIdleRefresh, int Presses);

public static class PanelBenchmark
{
    public const double TargetPressToScreenMs = 50;

    /// <summary>
    /// Button release edge → new text in the HD44780 emulator's DDRAM, on the real clock, through the whole chain:
    /// bouncing edges → debounce (20 ms) → menu → simulated panel → HD44780 driver → PCF8574 bytes → emulator.
    /// Presses fire on release (a press must be told apart from a hold), so the clock starts at the release edge.
    /// I²C bus time is not included (the emulated bus is instant; at 100 kHz a changed character costs ≈ 0.8 ms).
    /// Then counts the bytes a refresh without change writes (target 0).
    /// </summary>
    public static async Task<PanelBenchmarkResult> RunAsync(TextWriter output, int presses = 30)
    {
        ArgumentNullException.ThrowIfNull(output);
        var result = await MeasureAsync(presses);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"panel: button release -> updated screen (incl. 20 ms debounce): median {result.MedianPressToScreenMs:0.0} ms, max {result.MaxPressToScreenMs:0.0} ms over {presses} presses (target <= {TargetPressToScreenMs} ms)"));
        output.WriteLine($"panel: bytes written per idle refresh: {result.BytesPerIdleRefresh} (target 0)");
        return result;
    }

    /// <summary>Never blocks a thread-pool thread: the decoder's timer callbacks need one, promptly.</summary>
    private static async Task<PanelBenchmarkResult> MeasureAsync(int presses)
    {
        var geometry = PanelGeometry.Lcd16x2;
        var delay = new VirtualDelay();
        var lcd = new Hd44780Emulator(geometry, () => delay.Now);
        var device = new EmulatedPcf8574Device(lcd);
        using var hd44780 = new Hd44780Display(new Hd44780Controller(new Pcf8574Hd44780Bus(device), geometry, delay));
        var shown = new TimestampingDisplay(hd44780);
        var panel = new SimulatedPanel(geometry, ButtonTiming.Default, TimeProvider.System, NullLogger<SimulatedPanel>.Instance, mirror: shown);
        var status = new MutableStatusSource { Status = PanelRig.SampleStatus };
        var controller = new PanelController(panel, status, new RecordingCredentialSink(), new CountingRandom(), TimeProvider.System, PanelSettings.Default);
        using var decoder = new ButtonGestureDecoder(controller, ButtonTiming.Default, TimeProvider.System);
        await controller.RefreshAsync(CancellationToken.None);

        var samples = new List<double>();
        for (var i = 0; i < presses; i++)
        {
            var before = lcd.Row(0);
            Bounce(decoder, pressed: true);
            await Task.Delay(60);
            var changed = shown.Arm();
            var released = Stopwatch.GetTimestamp();
            Bounce(decoder, pressed: false);
            if (await Task.WhenAny(changed, Task.Delay(TimeSpan.FromSeconds(10))) != changed || lcd.Row(0) == before)
            {
                throw new InvalidOperationException($"press {i + 1} did not change the screen (still '{lcd.Row(0)}')");
            }

            samples.Add(Stopwatch.GetElapsedTime(released, shown.LastShownTimestamp).TotalMilliseconds);
        }

        var bytes = device.BytesWritten;
        const int idleRefreshes = 100;
        for (var i = 0; i < idleRefreshes; i++)
        {
            await controller.RefreshAsync(CancellationToken.None);
        }

        samples.Sort();
        return new PanelBenchmarkResult(samples[samples.Count / 2], samples[^1], (device.BytesWritten - bytes) / idleRefreshes, presses);
    }

    /// <summary>Marks the moment a frame has been written through to the emulated controller.</summary>
    private sealed class TimestampingDisplay(IPanelDisplay inner) : IPanelDisplay
    {
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long LastShownTimestamp { get; private set; }

        public PanelGeometry Geometry => inner.Geometry;

        /// <summary>A task that completes at the next frame.</summary>
        public Task Arm()
        {
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _changed.Task;
        }

        public void Show(PanelFrame frame)
        {
            inner.Show(frame);
            LastShownTimestamp = Stopwatch.GetTimestamp();
            _changed.TrySetResult();
        }
    }

    /// <summary>A contact closing or opening with three quick bounces, as mechanical buttons do.</summary>
    private static void Bounce(ButtonGestureDecoder buttons, bool pressed)
    {
        buttons.OnLevel(PanelKey.Down, pressed);
        buttons.OnLevel(PanelKey.Down, !pressed);
        buttons.OnLevel(PanelKey.Down, pressed);
    }
}

/// <summary>Timing runs alone: parallel tests that block thread-pool threads would delay the decoder's timers.</summary>
[CollectionDefinition(nameof(PanelBenchmarkTests), DisableParallelization = true)]
public sealed class PanelBenchmarkRunsAlone;

[Collection(nameof(PanelBenchmarkTests))]
public class PanelBenchmarkTests(Xunit.Abstractions.ITestOutputHelper log)
{
    [Fact]
    public async Task The_benchmark_runs_and_an_idle_refresh_writes_nothing()
    {
        using var output = new StringWriter();
        var result = await PanelBenchmark.RunAsync(output, presses: 3);

        log.WriteLine(output.ToString());
        Assert.Equal(0, result.BytesPerIdleRefresh);
        Assert.Equal(3, result.Presses);
        Assert.InRange(result.MedianPressToScreenMs, 0.001, 2000);
        Assert.Contains("bytes written per idle refresh: 0", output.ToString(), StringComparison.Ordinal);
    }
}
