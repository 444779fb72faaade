using Appliance.Hw.Bmc;
using Appliance.Hw.Processes;

namespace Appliance.Tests.Bmc;

/// <summary>
/// The lowest seam of the CLI adapters: records every request, then either forwards it to a real
/// runner (ipmitool against ipmi_sim) or answers from canned output (racadm, which cannot run here).
/// </summary>
internal sealed class RecordingCommandRunner(ICommandRunner? inner = null) : ICommandRunner
{
    private readonly Queue<CommandOutcome> _canned = new();
    private readonly List<CommandSpec> _calls = [];

    public IReadOnlyList<CommandSpec> Calls
    {
        get
        {
            lock (_calls)
                return [.. _calls];
        }
    }

    /// <summary>Called with each request before it runs (e.g. to inspect a temp file that exists only then).</summary>
    public Action<CommandSpec>? OnCall { get; set; }

    public RecordingCommandRunner Answer(string stdout, int exitCode = 0, string stderr = "")
    {
        _canned.Enqueue(new CommandOutcome(exitCode, stdout, stderr, TimedOut: false, OutputTruncated: false, StartError: null, TimeSpan.Zero));
        return this;
    }

    public Task<CommandOutcome> RunAsync(CommandSpec request, CancellationToken cancellationToken)
    {
        lock (_calls)
            _calls.Add(request);
        OnCall?.Invoke(request);
        if (inner is not null)
            return inner.RunAsync(request, cancellationToken);
        if (_canned.Count == 0)
            throw new InvalidOperationException($"unexpected command: {request}");
        return Task.FromResult(_canned.Dequeue());
    }
}
