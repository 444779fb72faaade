using System.Globalization;
using Appliance.Core.Ports;
using Appliance.Hw.Processes;
using Microsoft.Extensions.Logging;

namespace Appliance.Hw.Network;

/// <summary>
/// Holds the shared IPv4 address with <c>ip addr add/del</c> and announces it with gratuitous ARP
/// (<c>arping -U</c>) so switches and routers drop the old Active's MAC at once.
/// Take returns as soon as the address is on the interface: arping waits a second per packet, and a
/// promotion must not wait on it, so the announcements run beside and Release stops them first — a node
/// that no longer holds the address must never announce it.
/// </summary>
public sealed partial class LinuxSharedAddress : ISharedAddress, IAsyncDisposable
{
    private const int OutputLimitBytes = 16 * 1024;

    private readonly SharedAddressOptions _options;
    private readonly ICommandRunner _runner;
    private readonly ILogger _logger;
    private readonly string _cidr;
    private readonly string _address;
    private readonly Lock _gate = new();
    private CancellationTokenSource? _announcing;
    private Task _announcement = Task.CompletedTask;
    private volatile bool _held;

    public LinuxSharedAddress(SharedAddressOptions options, ICommandRunner runner, ILogger<LinuxSharedAddress> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<string> errors = options.Validate(isLinux: true);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        _options = options;
        _runner = runner;
        _logger = logger;
        (System.Net.IPAddress address, int prefix) = options.Parsed();
        _address = address.ToString();
        _cidr = string.Create(CultureInfo.InvariantCulture, $"{_address}/{prefix}");
    }

    public bool IsHeld => _held;

    public async Task TakeAsync(CancellationToken cancellationToken)
    {
        // "Address already assigned": a take after a take (or a restart that found it) is not an error.
        await IpAsync("add", "already assigned", cancellationToken);
        _held = true;
        LogTaken(_logger, _cidr, _options.Interface);
        StartAnnouncing();
    }

    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        await StopAnnouncingAsync();
        // "Address not found": released already (or never held) is what release wants.
        await IpAsync("del", "not found", cancellationToken);
        _held = false;
        LogReleased(_logger, _cidr, _options.Interface);
    }

    /// <summary>Stops an announcement still running (the address itself is released by the host's stop path).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAnnouncingAsync();
        _announcing?.Dispose();
    }

    private async Task IpAsync(string verb, string alreadyDone, CancellationToken cancellationToken)
    {
        var spec = new CommandSpec(_options.IpPath, ["-4", "addr", verb, _cidr, "dev", _options.Interface], _options.CommandTimeout, OutputLimitBytes);
        CommandOutcome outcome = await _runner.RunAsync(spec, cancellationToken);
        if (outcome.Succeeded || (outcome.ExitCode is not null && outcome.StandardError.Contains(alreadyDone, StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        throw new InvalidOperationException($"shared address {_cidr} on {_options.Interface}: '{spec}' failed: {outcome.Summary}");
    }

    private void StartAnnouncing()
    {
        lock (_gate)
        {
            if (_announcing is not null && !_announcement.IsCompleted)
            {
                return; // a take after a take: the running announcement already covers it
            }

            _announcing?.Dispose();
            _announcing = new CancellationTokenSource();
            CancellationToken token = _announcing.Token;
            _announcement = Task.Run(() => AnnounceAsync(token), CancellationToken.None);
        }
    }

    private async Task StopAnnouncingAsync()
    {
        Task running;
        lock (_gate)
        {
            _announcing?.Cancel();
            running = _announcement;
        }

        await running;
    }

    private async Task AnnounceAsync(CancellationToken cancellationToken)
    {
        string count = _options.Announcements.ToString(CultureInfo.InvariantCulture);
        var spec = new CommandSpec(_options.ArpingPath, ["-q", "-U", "-c", count, "-I", _options.Interface, _address],
            TimeSpan.FromSeconds(_options.Announcements + 5), OutputLimitBytes);
        try
        {
            CommandOutcome outcome = await _runner.RunAsync(spec, cancellationToken);
            if (outcome.Succeeded)
            {
                LogAnnounced(_logger, _address, _options.Interface, _options.Announcements);
            }
            else
            {
                // The address is held and the kernel answers ARP for it; only caches wait for their timeout.
                LogAnnounceFailed(_logger, _address, _options.Interface, outcome.Summary);
            }
        }
        catch (OperationCanceledException)
        {
            // Released (or shutting down) while announcing: arping was killed, as it must be.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shared address {Cidr} taken on {Interface}")]
    private static partial void LogTaken(ILogger logger, string cidr, string @interface);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shared address {Cidr} released on {Interface}")]
    private static partial void LogReleased(ILogger logger, string cidr, string @interface);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gratuitous ARP for {Address} on {Interface}: {Count} sent")]
    private static partial void LogAnnounced(ILogger logger, string address, string @interface, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gratuitous ARP for {Address} on {Interface} failed ({Reason}); neighbours learn the move when their ARP entries expire")]
    private static partial void LogAnnounceFailed(ILogger logger, string address, string @interface, string reason);
}
