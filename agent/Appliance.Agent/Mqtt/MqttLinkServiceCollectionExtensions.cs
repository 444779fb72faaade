using Appliance.Core.Ports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Appliance.Agent.Mqtt;

/// <summary>Host wiring for the MQTT peer link and the embedded broker.</summary>
public static class MqttLinkServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="MqttLinkOptions"/> from the <c>PeerLink</c> section (validated at host start),
    /// registers <see cref="MqttPeerLink"/> as <see cref="IPeerLink"/> and the
    /// <see cref="EmbeddedMqttBroker"/> as a hosted service. Call it before registering the service
    /// that starts the link, so the own broker is listening first (hosted services start in order).
    /// </summary>
    public static IServiceCollection AddMqttPeerLink(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MqttLinkOptions>()
            .Bind(configuration.GetSection(MqttLinkOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<MqttLinkOptions>, MqttLinkOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new EmbeddedMqttBroker(
            sp.GetRequiredService<IOptions<MqttLinkOptions>>().Value.EmbeddedBroker,
            sp.GetRequiredService<ILogger<EmbeddedMqttBroker>>()));
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedMqttBroker>());
        services.AddSingleton(sp => new MqttPeerLink(
            sp.GetRequiredService<IOptions<MqttLinkOptions>>().Value,
            sp.GetRequiredService<EmbeddedMqttBroker>(),
            sp.GetRequiredService<ILogger<MqttPeerLink>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IPeerLink>(sp => sp.GetRequiredService<MqttPeerLink>());
        return services;
    }
}

/// <summary>Runs <see cref="MqttLinkOptions.Validate"/> when the host starts, so bad keys stop startup with every error listed.</summary>
internal sealed class MqttLinkOptionsValidator : IValidateOptions<MqttLinkOptions>
{
    public ValidateOptionsResult Validate(string? name, MqttLinkOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
