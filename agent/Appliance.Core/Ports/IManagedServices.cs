namespace Appliance.Core.Ports;

/// <summary>The services only the Active runs (the appliance's client-facing workload).</summary>
public interface IManagedServices
{
    Task StartAsync(CancellationToken cancellationToken);

    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>True once every managed service is confirmed stopped (a demotion is not done before).</summary>
    Task<bool> VerifyStoppedAsync(CancellationToken cancellationToken);
}
