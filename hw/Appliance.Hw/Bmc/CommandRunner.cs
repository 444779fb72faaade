using System.ComponentModel;
using CliWrap;
using CliWrap.Buffered;

namespace Appliance.Hw.Bmc;

/// <summary>One tool invocation: arguments as an array (never a shell string); secrets only in the environment.</summary>
/// <param name="Operation">Words naming the operation for error messages (e.g. "chassis power off"); never a secret.</param>
public sealed record CommandRequest(
    string FileName, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment, TimeSpan Timeout, string Operation);

/// <summary>What the tool printed and returned.</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>The seam between BMC adapters and the processes they run (recorded in tests).</summary>
public interface ICommandRunner
{
    /// <summary>Runs the command; throws <see cref="BmcException"/> (Timeout, ToolMissing) when it cannot complete.</summary>
    Task<CommandResult> RunAsync(CommandRequest request, CancellationToken cancellationToken);
}

/// <summary>Runs tools through CliWrap; kills the process when the per-command timeout expires.</summary>
public sealed class CliCommandRunner(TimeProvider timeProvider) : ICommandRunner
{
    /// <summary>A runner on the system clock.</summary>
    public CliCommandRunner() : this(TimeProvider.System) { }

    /// <inheritdoc />
    public async Task<CommandResult> RunAsync(CommandRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var timeout = new CancellationTokenSource(request.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var command = Cli.Wrap(request.FileName)
            .WithArguments(request.Arguments)
            .WithEnvironmentVariables(request.Environment.ToDictionary(kv => kv.Key, kv => (string?)kv.Value))
            .WithValidation(CommandResultValidation.None);
        try
        {
            var result = await command.ExecuteBufferedAsync(linked.Token);
            return new CommandResult(result.ExitCode, result.StandardOutput, result.StandardError);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new BmcException(BmcErrorKind.Timeout,
                $"{Path.GetFileName(request.FileName)} {request.Operation} did not finish within {request.Timeout.TotalSeconds:0.#} s (killed)");
        }
        catch (Win32Exception ex)
        {
            throw new BmcException(BmcErrorKind.ToolMissing, $"cannot run {request.FileName}: {ex.Message} (is it installed?)", ex);
        }
    }
}
