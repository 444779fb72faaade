using System.Runtime.Versioning;
using System.ServiceProcess;

namespace Appliance.Agent.Ha;

/// <summary>
/// Windows services through the Service Control Manager. Windows has no BindsTo: a killed agent leaves
/// the services running until the agent restarts and <see cref="ManagedServices.EnsureStoppedAtStartAsync"/>
/// stops them (set the agent service's recovery actions to restart it).
/// </summary>
[SupportedOSPlatform("windows")]
public sealed class WindowsServiceControl : IUnitControl
{
    private readonly ManagedServicesOptions _options;

    public WindowsServiceControl(ManagedServicesOptions options)
    {
        _options = options;
    }

    public Task PrepareAsync(IReadOnlyList<string> units, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<UnitResult> StartAsync(string unit, CancellationToken cancellationToken) =>
        ChangeAsync(unit, ServiceControllerStatus.Running, _options.StartTimeout, service => service.Start(), cancellationToken);

    public Task<UnitResult> StopAsync(string unit, CancellationToken cancellationToken) =>
        ChangeAsync(unit, ServiceControllerStatus.Stopped, _options.StopTimeout, service => service.Stop(), cancellationToken);

    public Task<UnitState> QueryAsync(string unit, CancellationToken cancellationToken)
    {
        using var service = new ServiceController(unit);
        try
        {
            ServiceControllerStatus status = service.Status;
            UnitActivity activity = status == ServiceControllerStatus.Stopped ? UnitActivity.Stopped : UnitActivity.Running;
            return Task.FromResult(new UnitState(unit, activity, status.ToString()));
        }
        catch (InvalidOperationException ex) when (ex.InnerException is System.ComponentModel.Win32Exception { NativeErrorCode: ServiceDoesNotExist })
        {
            return Task.FromResult(new UnitState(unit, UnitActivity.Stopped, "not installed"));
        }
        catch (InvalidOperationException ex)
        {
            return Task.FromResult(new UnitState(unit, UnitActivity.Unknown, ex.Message));
        }
    }

    /// <summary>ERROR_SERVICE_DOES_NOT_EXIST: like systemd's "unknown", nothing of it can run.</summary>
    private const int ServiceDoesNotExist = 1060;

    private static Task<UnitResult> ChangeAsync(
        string unit, ServiceControllerStatus wanted, TimeSpan timeout, Action<ServiceController> change, CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            using var service = new ServiceController(unit);
            try
            {
                if (service.Status != wanted)
                {
                    change(service);
                    service.WaitForStatus(wanted, timeout);
                }

                return new UnitResult(unit, true, wanted.ToString());
            }
            catch (System.ServiceProcess.TimeoutException)
            {
                return new UnitResult(unit, false, $"not {wanted} within {timeout}");
            }
            catch (InvalidOperationException ex)
            {
                return new UnitResult(unit, false, ex.Message);
            }
        }, cancellationToken);
}
