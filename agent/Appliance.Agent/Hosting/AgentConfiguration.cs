using Microsoft.Extensions.Configuration;

namespace Appliance.Agent.Hosting;

/// <summary>
/// Configuration sources, later ones winning: appsettings.json beside the binary, the machine file
/// (/etc/appliance/agent.json, or %ProgramData%\Appliance\agent.json), <c>--config FILE</c>,
/// environment variables <c>APPLIANCE__Section__Key</c>, then the command line.
/// </summary>
public static class AgentConfiguration
{
    public static string MachineConfigPath { get; } = OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "Appliance", "agent.json")
        : "/etc/appliance/agent.json";

    public static void AddSources(IConfigurationBuilder builder, string[] args)
    {
        builder.Sources.Clear();
        builder.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false);
        builder.AddJsonFile(MachineConfigPath, optional: true, reloadOnChange: false);
        if (ConfigFileArgument(args) is { } file)
        {
            builder.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }

        builder.AddInMemoryCollection(EnvironmentSettings(Environment.GetEnvironmentVariables()));
        builder.AddCommandLine(args.Where((_, i) => !IsConfigArgument(args, i)).ToArray());
    }

    /// <summary>
    /// Binds and validates the <c>Appliance</c> section. Unknown keys are errors (a typo in a failover
    /// timeout must not silently fall back to the default), as are values of the wrong type.
    /// </summary>
    public static (AgentOptions Options, IReadOnlyList<string> Errors) Bind(IConfiguration configuration)
    {
        var options = new AgentOptions();
        try
        {
            configuration.GetSection(AgentOptions.Section).Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            return (options, [DescribeBindFailure(configuration, e)]);
        }

        return (options, options.Validate());
    }

    /// <summary>
    /// <c>APPLIANCE__Api__TcpPort=8081</c> becomes <c>Appliance:Api:TcpPort</c>: the prefix names the
    /// section, so a service unit's Environment= lines stay short.
    /// </summary>
    internal static IEnumerable<KeyValuePair<string, string?>> EnvironmentSettings(System.Collections.IDictionary environment)
    {
        const string prefix = "APPLIANCE__";
        foreach (System.Collections.DictionaryEntry entry in environment)
        {
            if (entry.Key is string name && name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && name.Length > prefix.Length)
            {
                yield return new(AgentOptions.Section + ":" + name[prefix.Length..].Replace("__", ":", StringComparison.Ordinal), entry.Value as string);
            }
        }
    }

    internal static string? ConfigFileArgument(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config")
            {
                return i + 1 < args.Length ? args[i + 1] : throw new ArgumentException("--config needs a FILE argument");
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return args[i]["--config=".Length..];
            }
        }

        return null;
    }

    private static bool IsConfigArgument(string[] args, int index) =>
        args[index] == "--config" || args[index].StartsWith("--config=", StringComparison.Ordinal)
        || (index > 0 && args[index - 1] == "--config");

    private static string DescribeBindFailure(IConfiguration configuration, InvalidOperationException e)
    {
        // The binder names the key and the target type of a conversion failure; lead with the key.
        var conversion = System.Text.RegularExpressions.Regex.Match(e.Message, "at '(?<key>[^']+)' to type '(?:System\\.)?(?<type>[^']+)'");
        if (conversion.Success)
        {
            var key = conversion.Groups["key"].Value;
            return $"{key}='{configuration[key]}' has the wrong type: {DescribeType(conversion.Groups["type"].Value)} expected";
        }

        return e.Message.Contains("were not found", StringComparison.Ordinal)
            ? $"unknown key under Appliance: {e.Message[(e.Message.LastIndexOf(':') + 1)..].Trim()} (see docs/operations.md, Configuration)"
            : e.Message;
    }

    private static string DescribeType(string type) => type switch
    {
        "Int32" or "Int64" => "a whole number",
        "TimeSpan" => "a duration such as 00:00:05",
        "Boolean" => "true or false",
        _ => type,
    };
}
