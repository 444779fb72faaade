using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Appliance.Core.Api;

/// <summary>
/// One line for a JSON body that does not bind, naming the field, the value and what the field accepts
/// ("role=Boss is not allowed: allowed Active | Passive"). System.Text.Json alone says which CLR type failed,
/// which tells a technician nothing. A field marked <see cref="PasswordPropertyTextAttribute"/> never shows its
/// value; <see cref="AllowedValuesAttribute"/> narrows the names an enum field lists.
/// </summary>
public static class JsonBodyErrors
{
    public static string NotAllowed(string field, string shown, string accepted) => $"{field}={shown} is not allowed: allowed {accepted}";

    /// <summary>
    /// Parses a body as written; null when it is JSON (<paramref name="parsed"/> is null for an empty body), else the
    /// error. A name given twice is refused: which value would count is the reader's guess.
    /// </summary>
    public static string? Parse(string body, out JsonNode? parsed)
    {
        try
        {
            parsed = string.IsNullOrWhiteSpace(body) ? null : JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
            return null;
        }
        catch (JsonException e)
        {
            parsed = null;
            return $"the body is not JSON: {e.Message}";
        }
    }

    /// <summary>Why <paramref name="body"/> does not bind to <paramref name="type"/>; null when no field explains it.</summary>
    public static string? Explain(string body, JsonTypeInfo type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (Parse(body, out var parsed) is { } notJson)
        {
            return notJson;
        }

        if (parsed is not JsonObject given)
        {
            return parsed is null ? $"the body is empty: {Expected(type)} is required" : $"the body must be {Expected(type)}";
        }

        var writtenAs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in given)
        {
            if (Find(type, name) is not { } property)
            {
                if ((type.UnmappedMemberHandling ?? type.Options.UnmappedMemberHandling) == JsonUnmappedMemberHandling.Disallow)
                {
                    return $"{name} is not a field of this body: allowed {string.Join(", ", type.Properties.Select(p => p.Name))}";
                }

                continue; // ignored by the binder, so not why binding failed
            }

            if (!writtenAs.TryAdd(property.Name, name))
            {
                return $"{writtenAs[property.Name]} and {name} name the same field: give it once";
            }

            if (!Converts(value, property.PropertyType, type.Options))
            {
                return NotAllowed(name, IsSecret(property) ? "***" : Shown(value), Accepted(property));
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="value"/> reads as <paramref name="type"/>; null only where the type can hold it.</summary>
    public static bool Converts(JsonNode? value, Type type, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(options);
        if (value is null)
        {
            return !type.IsValueType || Nullable.GetUnderlyingType(type) is not null;
        }

        try
        {
            _ = value.Deserialize(options.GetTypeInfo(type));
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>A value as the user wrote it: a string without its quotes.</summary>
    public static string Shown(JsonNode? value) =>
        value is JsonValue text && text.GetValueKind() == JsonValueKind.String ? text.GetValue<string>() : value?.ToJsonString() ?? "null";

    private static JsonPropertyInfo? Find(JsonTypeInfo type, string name)
    {
        var comparison = type.Options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return type.Kind == JsonTypeInfoKind.Object ? type.Properties.FirstOrDefault(p => string.Equals(p.Name, name, comparison)) : null;
    }

    private static string Expected(JsonTypeInfo type) =>
        type.Kind == JsonTypeInfoKind.Object && type.Properties.Count > 0
            ? "a JSON object with " + string.Join(", ", type.Properties.Select(p => $"{p.Name} ({Accepted(p)})"))
            : "a JSON object";

    private static string Accepted(JsonPropertyInfo property)
    {
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var accepted = type switch
        {
            _ when type.IsEnum => string.Join(" | ", Attribute<AllowedValuesAttribute>(property)?.Values.Select(v => v?.ToString()) ?? Enum.GetNames(type)),
            _ when type == typeof(bool) => "true | false",
            _ when type == typeof(string) => "a string",
            _ when type == typeof(int) || type == typeof(long) => "a whole number",
            _ => "a JSON value of " + type.Name,
        };
        return type == property.PropertyType ? accepted : "null or " + accepted;
    }

    private static bool IsSecret(JsonPropertyInfo property) => Attribute<PasswordPropertyTextAttribute>(property)?.Password == true;

    private static T? Attribute<T>(JsonPropertyInfo property)
        where T : Attribute =>
        property.AttributeProvider?.GetCustomAttributes(typeof(T), inherit: true).OfType<T>().FirstOrDefault();
}
