using Appliance.Agent.Ha;
using Appliance.Hw.Processes;

namespace Appliance.Tests.Ha;

/// <summary>
/// The process-start seam: records every argv and answers from a script of real systemctl output forms.
/// Everything above it (ordering, parsing, drop-ins) is the production code.
/// </summary>
internal sealed class RecordingRunner : ICommandRunner
{
    private readonly Dictionary<string, Queue<CommandOutcome>> _answers = new(StringComparer.Ordinal);

    public List<string> Calls { get; } = [];

    /// <summary>Runs when a command is called, before it answers (to observe files at that moment).</summary>
    public Action<string>? OnCall { get; set; }

    public static CommandOutcome Exit(int code, string stdout = "", string stderr = "") =>
        new(code, stdout, stderr, TimedOut: false, OutputTruncated: false, StartError: null, TimeSpan.FromMilliseconds(3));

    /// <summary>Answers for "verb unit" in sequence; the last one repeats. Unscripted commands exit 0 silently.</summary>
    public RecordingRunner Answer(string arguments, params CommandOutcome[] outcomes)
    {
        _answers[arguments] = new Queue<CommandOutcome>(outcomes);
        return this;
    }

    public Task<CommandOutcome> RunAsync(CommandSpec spec, CancellationToken cancellationToken)
    {
        string arguments = string.Join(' ', spec.Arguments);
        Calls.Add($"{spec.Executable} {arguments}");
        OnCall?.Invoke(arguments);
        if (!_answers.TryGetValue(arguments, out Queue<CommandOutcome>? queue))
        {
            return Task.FromResult(Exit(0));
        }

        return Task.FromResult(queue.Count > 1 ? queue.Dequeue() : queue.Peek());
    }
}
