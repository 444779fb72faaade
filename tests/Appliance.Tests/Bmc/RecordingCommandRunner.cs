using Appliance.Hw.Bmc;

namespace Appliance.Tests.Bmc;

/// <summary>
/// The lowest seam of the CLI adapters: records every request, then either forwards it to a real
/// runner (ipmitool against ipmi_sim) or answers from canned output (racadm, which cannot run here).
/// </summary>
internal sealed class RecordingCommandRunner(ICommandRunner? inner = null) : ICommandRunner
{
    private readonly Queue<CommandResult> _canned = new();
    private readonly List<CommandRequest> _calls = [];

    public IReadOnlyList<CommandRequest> Calls
    {
        get
        {
            lock (_calls)
                return [.. _calls];
        }
    }

    /// <summary>Called with each request before it runs (e.g. to inspect a temp file that exists only then).</summary>
    public Action<CommandRequest>? OnCall { get; set; }

    public RecordingCommandRunner Answer(string stdout, int exitCode = 0, string stderr = "")
    {
        _canned.Enqueue(new CommandResult(exitCode, stdout, stderr));
        return this;
    }

    public Task<CommandResult> RunAsync(CommandRequest request, CancellationToken cancellationToken)
    {
        lock (_calls)
            _calls.Add(request);
        OnCall?.Invoke(request);
        if (inner is not null)
            return inner.RunAsync(request, cancellationToken);
        if (_canned.Count == 0)
            throw new InvalidOperationException($"unexpected command: {request.FileName} {string.Join(' ', request.Arguments)}");
        return Task.FromResult(_canned.Dequeue());
    }
}
