using Appliance.Agent.Hosting;
using Appliance.Core.Ports;
using Appliance.Hw.Network;
using Appliance.Hw.Processes;

namespace Appliance.Agent.Ha;

/// <summary>Builds the engine's host adapters from configuration: what is not configured is explicitly absent.</summary>
public static class HaComposition
{
    /// <param name="fencer">Built once by <c>BmcComposition</c> and shared with the API's fence-test.</param>
    public static HaHostPorts CreatePorts(AgentOptions options, IPeerFencer fencer, ILoggerFactory loggers)
    {
        var services = ManagedServices.Create(options.Ha.Services, new ProcessCommandRunner(), loggers);
        var probe = new ConnectivityProbe(options.Ha.Probe, loggers.CreateLogger<ConnectivityProbe>());
        ISharedAddress sharedAddress = options.Ha.SharedAddress.Enabled
            ? new LinuxSharedAddress(options.Ha.SharedAddress, new ProcessCommandRunner(), loggers.CreateLogger<LinuxSharedAddress>())
            : new NoSharedAddress();
        return new HaHostPorts(fencer, sharedAddress, services, probe);
    }
}
