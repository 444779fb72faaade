using System.Text.Json;
using System.Text.Json.Serialization;
using Appliance.Core.Failover;
using Appliance.Core.Ports;

namespace Appliance.Core.Api;

/// <summary>
/// How the local API reads a request body: strictly, because a body read loosely does something the caller did
/// not ask for. A field named twice is ambiguous; a misspelt field (<c>{"synch":true}</c>) would silently run an
/// unsynced switch; an enum given as a number (<c>{"role":1}</c>) binds to whatever that number is today.
/// </summary>
public static class RequestJson
{
    public static void Configure(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        options.AllowDuplicateProperties = false;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;

        // Every enum a request body holds: names only.
        options.Converters.Add(new JsonStringEnumConverter<HaRole>(allowIntegerValues: false));
        options.Converters.Add(new JsonStringEnumConverter<BmcIpSource>(allowIntegerValues: false));
    }
}
