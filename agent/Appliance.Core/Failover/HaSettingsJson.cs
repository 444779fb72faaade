using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Appliance.Core.Api;

namespace Appliance.Core.Failover;

/// <summary>
/// Reads HA settings as a user wrote them (API body, <c>appliancectl ha settings --set</c>) or an older agent stored them. System.Text.Json alone
/// stops at a bad value with a message about CLR types (the API turned it into an empty 400) and silently drops a
/// misspelt name; here every refusal names the field as written and what it accepts, worded as
/// <see cref="HaSettings.Validate"/>'s errors.
/// </summary>
public static class HaSettingsJson
{
    /// <summary>Former names still accepted, so bodies, scripts and stored settings written with them keep working.</summary>
    private static readonly Dictionary<string, string> FormerNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Mode"] = nameof(HaSettings.FailoverMode),
    };

    /// <summary>The setting <paramref name="name"/> names in <paramref name="typeInfo"/> (any case, or a former name); null when none.</summary>
    public static JsonPropertyInfo? Find(string name, JsonTypeInfo<HaSettings> typeInfo)
    {
        var current = FormerNames.GetValueOrDefault(name) ?? name;
        return typeInfo.Properties.FirstOrDefault(p => string.Equals(p.Name, current, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The settings in <paramref name="body"/> (a field left out takes its default), or false and one line naming the
    /// first bad field and what it accepts.
    /// </summary>
    public static bool TryRead(JsonNode? body, JsonTypeInfo<HaSettings> typeInfo, out HaSettings? settings, out string? error)
    {
        settings = null;
        if (body is not JsonObject given)
        {
            error = "the body must be a JSON object of HA settings, e.g. {\"HeartbeatInterval\":\"00:00:01\"}";
            return false;
        }

        // A field left out takes its declared default. Deserializing the body alone would not do that: the generated
        // creator of this init-only record sets every property it has, so a missing duration became 0 and a missing
        // list null (a partial PUT was a 500).
        var canonical = JsonSerializer.SerializeToNode(new HaSettings(), typeInfo)!.AsObject();
        var writtenAs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in given)
        {
            if (Find(name, typeInfo) is not { } property)
            {
                error = $"{name} is not a setting: allowed {string.Join(", ", typeInfo.Properties.Select(p => p.Name))}";
                return false;
            }

            if (!writtenAs.TryAdd(property.Name, name))
            {
                error = $"{writtenAs[property.Name]} and {name} name the same setting: give it once";
                return false;
            }

            // Each value on its own, so the error can name its field; null only where the setting may be unset
            // (a null list would otherwise reach Validate as a null reference).
            if (value is null ? property.PropertyType != typeof(string) : !JsonBodyErrors.Converts(value, property.PropertyType, typeInfo.Options))
            {
                error = JsonBodyErrors.NotAllowed(name, JsonBodyErrors.Shown(value), HaSettings.Accepted(property.Name)!);
                return false;
            }

            canonical[property.Name] = value?.DeepClone();
        }

        settings = canonical.Deserialize(typeInfo)!;
        error = null;
        return true;
    }
}
