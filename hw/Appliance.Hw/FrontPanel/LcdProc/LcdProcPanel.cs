using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Appliance.Core.Panel;
using Microsoft.Extensions.Logging;

namespace Appliance.Hw.FrontPanel.LcdProc;

/// <summary>
/// A panel shown through LCDd (LCDproc protocol 0.3 over TCP, default port 13666). One foreground screen with one
/// string widget per row; only rows that changed are re-sent. Keys Up/Down/Enter/Escape are reserved exclusively
/// and arrive as presses (LCDd reports no releases, so holds and chords are not available over LCDproc).
/// Reconnects with a capped backoff and redraws everything on each new connection.
/// </summary>
public sealed partial class LcdProcPanel : IPanelDisplay, IDisposable
{
    public const int DefaultPort = 13666;
    private const string ScreenId = "appliance";
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private readonly string _host;
    private readonly int _port;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _frameChanged = new(0, 1);
    private readonly Lock _gate = new();
    private PanelFrame? _wanted;
    private IPanelGestureSink? _keys;

    public LcdProcPanel(string host, int port, PanelGeometry geometry, TimeProvider time, ILogger<LcdProcPanel> logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _host = host;
        _port = port;
        _time = time;
        _logger = logger;
        Geometry = geometry;
    }

    public PanelGeometry Geometry { get; }

    /// <summary>The display size LCDd reported in its hello reply, once connected.</summary>
    public (int Width, int Height)? ServerSize { get; private set; }

    /// <summary>True while LCDd shows our screen (it sends <c>listen</c>/<c>ignore</c>).</summary>
    public bool Visible { get; private set; }

    /// <summary>Number of successful handshakes (1 after the first connection; more after reconnects).</summary>
    public int Connections { get; private set; }

    /// <summary>How many commands LCDd answered with <c>huh?</c> (each is logged as a warning).</summary>
    public int RefusedCommands { get; private set; }

    public string? LastRefusal { get; private set; }

    /// <summary>Key presses go here (the panel controller).</summary>
    public void AttachKeys(IPanelGestureSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _keys = sink;
    }

    public void Show(PanelFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        lock (_gate)
        {
            _wanted = frame;
        }

        SignalFrameChanged();
    }

    private void SignalFrameChanged()
    {
        try
        {
            _frameChanged.Release();
        }
        catch (SemaphoreFullException)
        {
            // A wake-up is already pending; the writer reads the newest frame anyway.
        }
    }

    /// <summary>Connects, draws and listens until cancelled, reconnecting after every failure.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(250);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RunSessionAsync(cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(250);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or SocketException or LcdProcProtocolException)
            {
                Visible = false;
                LogDisconnected(_host, _port, e.Message, backoff.TotalMilliseconds);
            }

            await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private async Task RunSessionAsync(CancellationToken cancellationToken)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(_host, _port, cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\n", AutoFlush = false };
        await using (writer.ConfigureAwait(false))
        {
            await SendAsync(writer, "hello", cancellationToken).ConfigureAwait(false);
            var greeting = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new LcdProcProtocolException("LCDd closed the connection before answering hello");
            ServerSize = ParseHello(greeting);
            if (ServerSize.Value.Width < Geometry.Columns || ServerSize.Value.Height < Geometry.Rows)
            {
                LogSmallerDisplay(ServerSize.Value.Width, ServerSize.Value.Height, Geometry.Columns, Geometry.Rows);
            }

            var setup = new List<string>
            {
                "client_set -name appliance",
                $"screen_add {ScreenId}",
                $"screen_set {ScreenId} -name Appliance -priority foreground -heartbeat off -backlight on",
            };
            for (var row = 1; row <= Geometry.Rows; row++)
            {
                setup.Add($"widget_add {ScreenId} r{row} string");
            }

            setup.Add("client_add_key -exclusively Up Down Enter Escape");
            foreach (var command in setup)
            {
                await SendAsync(writer, command, cancellationToken).ConfigureAwait(false);
            }

            Connections++;
            LogConnected(_host, _port, ServerSize.Value.Width, ServerSize.Value.Height);

            using var sessionEnd = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var readTask = ReadLoopAsync(reader, sessionEnd.Token);
            var writeTask = WriteLoopAsync(writer, sessionEnd.Token);
            var first = await Task.WhenAny(readTask, writeTask).ConfigureAwait(false);
            await sessionEnd.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(readTask, writeTask).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The other loop stopped because this session ended; the first one's outcome is what counts.
            }

            await first.ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new IOException("LCDd closed the connection");
            HandleServerLine(line);
        }
    }

    /// <summary>Replies are untagged; async lines (listen, ignore, key, menuevent) come on the same stream.</summary>
    internal void HandleServerLine(string line)
    {
        if (line.StartsWith("huh?", StringComparison.Ordinal))
        {
            RefusedCommands++;
            LastRefusal = line;
            LogRefused(line);
        }
        else if (line.StartsWith("listen ", StringComparison.Ordinal))
        {
            Visible = true;
        }
        else if (line.StartsWith("ignore ", StringComparison.Ordinal))
        {
            Visible = false;
        }
        else if (line.StartsWith("key ", StringComparison.Ordinal))
        {
            if (KeyFor(line[4..].Trim()) is { } key)
            {
                _keys?.OnGesture(PanelGesture.Press(key));
            }
        }
    }

    internal static PanelKey? KeyFor(string lcdprocKey) => lcdprocKey switch
    {
        "Up" => PanelKey.Up,
        "Down" => PanelKey.Down,
        "Enter" => PanelKey.Check,
        "Escape" => PanelKey.Back,
        _ => null,
    };

    private async Task WriteLoopAsync(StreamWriter writer, CancellationToken cancellationToken)
    {
        // A fresh connection has empty widgets: draw every row once, then only changes.
        PanelFrame? sent = null;
        while (true)
        {
            PanelFrame? wanted;
            lock (_gate)
            {
                wanted = _wanted;
            }

            if (wanted is not null && !wanted.Equals(sent))
            {
                foreach (var command in Diff(sent, wanted))
                {
                    await SendAsync(writer, command, cancellationToken).ConfigureAwait(false);
                }

                sent = wanted;
            }

            await _frameChanged.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The commands that turn the display from <paramref name="sent"/> into <paramref name="wanted"/>.</summary>
    internal static List<string> Diff(PanelFrame? sent, PanelFrame wanted)
    {
        var commands = new List<string>();
        if (sent is null || sent.BacklightOn != wanted.BacklightOn)
        {
            commands.Add($"screen_set {ScreenId} -backlight {(wanted.BacklightOn ? "on" : "off")}");
        }

        for (var row = 0; row < wanted.Lines.Count; row++)
        {
            if (sent is null || sent.Lines[row] != wanted.Lines[row])
            {
                var text = Quote(new string(wanted.Lines[row].Select(PanelGlyph.ToAscii).ToArray()));
                commands.Add(string.Create(CultureInfo.InvariantCulture, $"widget_set {ScreenId} r{row + 1} 1 {row + 1} {text}"));
            }
        }

        return commands;
    }

    internal static string Quote(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in text)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return sb.Append('"').ToString();
    }

    /// <summary>Parses <c>connect LCDproc 0.5.9 protocol 0.3 lcd wid 20 hgt 4 cellwid 5 cellhgt 8</c>.</summary>
    internal static (int Width, int Height) ParseHello(string line)
    {
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || words[0] != "connect")
        {
            throw new LcdProcProtocolException($"expected 'connect …' after hello, got '{line}'");
        }

        int? width = null, height = null;
        for (var i = 0; i + 1 < words.Length; i++)
        {
            if (words[i] == "wid" && int.TryParse(words[i + 1], CultureInfo.InvariantCulture, out var w))
            {
                width = w;
            }
            else if (words[i] == "hgt" && int.TryParse(words[i + 1], CultureInfo.InvariantCulture, out var h))
            {
                height = h;
            }
        }

        return width is > 0 && height is > 0
            ? (width.Value, height.Value)
            : throw new LcdProcProtocolException($"hello reply has no 'wid'/'hgt': '{line}'");
    }

    private static async Task SendAsync(StreamWriter writer, string command, CancellationToken cancellationToken)
    {
        await writer.WriteLineAsync(command.AsMemory(), cancellationToken).ConfigureAwait(false);
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _frameChanged.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "LCDproc connected to {Host}:{Port}, display {Width}x{Height}")]
    private partial void LogConnected(string host, int port, int width, int height);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LCDproc connection to {Host}:{Port} lost or refused ({Reason}); retrying in {BackoffMs} ms")]
    private partial void LogDisconnected(string host, int port, string reason, double backoffMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LCDd display is {Width}x{Height}, smaller than the configured {Columns}x{Rows}; text will be cut")]
    private partial void LogSmallerDisplay(int width, int height, int columns, int rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LCDd refused a command: {Reply}")]
    private partial void LogRefused(string reply);
}

/// <summary>LCDd answered something the protocol does not allow at that point.</summary>
public sealed class LcdProcProtocolException(string message) : Exception(message);
