using Appliance.Agent.Hosting;
using Appliance.Hw.Bmc;
using Appliance.Core.Ports;

namespace Appliance.Agent.Ha;

/// <summary>Builds the engine's host adapters from configuration: what is not configured is explicitly absent.</summary>
public static class HaComposition
{
    public static HaHostPorts CreatePorts(AgentOptions options, ILoggerFactory loggers, TimeProvider time)
    {
        IPeerFencer fencer = BmcFactory.CreateFencer(options.Ha.Fencing, timeProvider: time) ?? new FencingNotConfigured();
        var services = ManagedServices.Create(options.Ha.Services, new ProcessCommandRunner(), loggers);
        var probe = new ConnectivityProbe(options.Ha.Probe, loggers.CreateLogger<ConnectivityProbe>());
        return new HaHostPorts(fencer, new NoSharedAddress(), services, probe);
    }
}
