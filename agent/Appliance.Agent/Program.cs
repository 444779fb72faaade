using System.Net;
using System.Runtime.InteropServices;
using Appliance.Agent.Api;
using Appliance.Agent.Bmc;
using Appliance.Agent.Ha;
using Appliance.Core.Ports;
using Appliance.Agent.Hosting;
using Appliance.Agent.Panel;
using Appliance.Agent.Runtime;
using Appliance.Agent.Store;
using Appliance.Agent.Systemd;
using Appliance.Hw.Processes;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting.Systemd;

// Exit codes: 0 clean stop, 2 invalid configuration, 3 store cannot be opened, 4 a listener cannot bind.
var configuration = new ConfigurationManager();
try
{
    AgentConfiguration.AddSources(configuration, args);
}
catch (Exception e) when (e is ArgumentException or FileNotFoundException or InvalidDataException or FormatException)
{
    Console.Error.WriteLine($"appliance-agent: invalid configuration: {e.Message}");
    return 2;
}

var (options, errors) = AgentConfiguration.Bind(configuration);
if (errors.Count > 0)
{
    foreach (var error in errors)
    {
        Console.Error.WriteLine($"appliance-agent: invalid configuration: {error}");
    }

    return 2;
}

// Store commits end in fsync (blocking); on a 2-core appliance the pool would start with 2 threads
// and add more only slowly, so a burst of durable writes could delay the load-balancer probe.
ThreadPool.GetMinThreads(out var workers, out var completionPorts);
ThreadPool.SetMinThreads(Math.Max(workers, 16), completionPorts);

var time = TimeProvider.System;
if (BmcComposition.Build(options, time, out var bmcError) is not { } bmcParts)
{
    Console.Error.WriteLine($"appliance-agent: invalid configuration: {bmcError}");
    return 2;
}

AgentStore store;
try
{
    var password = options.Store.PasswordFile is { Length: > 0 } file ? File.ReadAllText(file).Trim() : null;
    store = AgentStore.Open(Path.GetFullPath(options.DataDir), options.Store.HistoryCap, password, time);
}
catch (StoreOpenException e)
{
    Console.Error.WriteLine($"appliance-agent: {e.Message}");
    return 3;
}

using (store)
{
    var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    AgentConfiguration.AddSources(builder.Configuration, args);
    builder.Host.UseSystemd();
    builder.Host.UseWindowsService(o => o.ServiceName = "appliance-agent");
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
    // Request-level framework logs would drown the agent's own lines in the journal; Logging:LogLevel overrides.
    builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    // A listener that cannot bind is reported in one line below; the host's own stack-trace dump is noise.
    builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

    builder.Services.AddSingleton(options);
    builder.Services.AddSingleton(time);
    builder.Services.AddSingleton(store);
    builder.Services.TryAddSingleton<ISystemdNotifier, SystemdNotifier>();
    builder.Services.AddSingleton<LoopProgress>();
    builder.Services.AddSingleton(sp => new TransitionHooks(options.Ha.Hooks, new ProcessCommandRunner(), sp.GetRequiredService<ILogger<TransitionHooks>>(),
        result => HaEventsSink.RecordHook(store, result)));
    builder.Services.AddSingleton<IHaEvents, HaEventsSink>();
    builder.Services.AddBmc(bmcParts);
    builder.Services.AddSingleton(sp => HaComposition.CreatePorts(options, sp.GetRequiredService<IPeerFencer>(), sp.GetRequiredService<ILoggerFactory>()));
    builder.Services.AddSingleton<HaService>();
    builder.Services.AddSingleton(sp => new AppliancePower(options.Ha.Power, new ProcessCommandRunner(), store, sp.GetRequiredService<ILogger<AppliancePower>>()));
    builder.Services.AddHostedService(sp => sp.GetRequiredService<HaService>());
    builder.Services.AddSingleton(sp => new NodeRuntime(store, sp.GetRequiredService<LoopProgress>(), sp.GetRequiredService<HaService>(), time, options.NodeName));
    builder.Services.AddSingleton<ApiAuthentication>();
    builder.Services.AddFrontPanel(options);
    builder.Services.AddSingleton(sp => new ServiceNotifications(
        sp.GetRequiredService<ISystemdNotifier>(),
        sp.GetRequiredService<IHostApplicationLifetime>(),
        sp.GetRequiredService<LoopProgress>(),
        time,
        sp.GetRequiredService<ILogger<ServiceNotifications>>(),
        ServiceNotifications.WatchdogPingInterval(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), Environment.GetEnvironmentVariable("WATCHDOG_PID"), Environment.ProcessId)));
    builder.Services.AddHostedService(sp => sp.GetRequiredService<ServiceNotifications>());
    builder.Services.AddHostedService<AgentLoop>();
    builder.Services.ConfigureHttpJsonOptions(o => Appliance.Core.Api.RequestJson.Configure(o.SerializerOptions));
    // A parameter that does not bind throws to ApiGate, which names the field, instead of an empty 400.
    builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
    int? umaskBeforeSocket = null;
    builder.WebHost.ConfigureKestrel(kestrel => umaskBeforeSocket = ConfigureListeners(kestrel, options.Api));

    var app = builder.Build();
    ApiEndpoints.Map(app);
    try
    {
        await app.StartAsync().ConfigureAwait(false);
    }
    catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
    {
        // A port or socket already taken (another agent, another broker): one clear line, not a stack.
        Console.Error.WriteLine($"appliance-agent: cannot start listening: {e.Message} (Appliance:Api:*, Appliance:Ha:PeerLink:EmbeddedBroker:*)");
        return 4;
    }
    finally
    {
        // The socket is bound: everything the agent creates from now on gets the normal mode again.
        if (umaskBeforeSocket is int umask)
        {
            _ = Umask(umask);
        }
    }

    if (!OperatingSystem.IsWindows())
    {
        File.SetUnixFileMode(options.Api.SocketPath, options.Api.ParseSocketMode()!.Value);
    }

    store.AppendHistory("agent", $"started (boot {store.Identity.BootCount}, version {NodeRuntime.Version})", "start");
    await app.WaitForShutdownAsync().ConfigureAwait(false);
    await app.DisposeAsync().ConfigureAwait(false);
    store.AppendHistory("agent", "stopped", "shutdown");
}

return 0;

// Returns the umask to restore once the socket is bound (null on Windows).
static int? ConfigureListeners(KestrelServerOptions kestrel, ApiOptions api)
{
    int? umaskBefore = null;
    if (OperatingSystem.IsWindows())
    {
        kestrel.ListenNamedPipe(api.PipeName, TagLocal);
    }
    else
    {
        var socketPath = Path.GetFullPath(api.SocketPath);
        Directory.CreateDirectory(Path.GetDirectoryName(socketPath)!);
        // Only one agent holds the store lock, so a socket file still here is a crashed agent's leftover.
        File.Delete(socketPath);
        // Sockets are created 0777 & ~umask: narrow the umask so the socket never exists wider than its mode.
        umaskBefore = Umask(0x1FF & ~(int)api.ParseSocketMode()!.Value);
        kestrel.ListenUnixSocket(socketPath, TagLocal);
    }

    if (!string.IsNullOrEmpty(api.TcpAddress))
    {
        kestrel.Listen(IPAddress.Parse(api.TcpAddress), api.TcpPort);
    }

    return umaskBefore;

    static void TagLocal(ListenOptions listen) => listen.Use(next => connection =>
    {
        connection.Items[ApiAuthentication.LocalSocketItem] = true;
        return next(connection);
    });
}

[DllImport("libc", EntryPoint = "umask")]
static extern int Umask(int mask);
