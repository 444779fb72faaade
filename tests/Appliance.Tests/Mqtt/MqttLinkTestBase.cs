using Appliance.Agent.Mqtt;
using Appliance.Tests.Fixtures;

namespace Appliance.Tests.Mqtt;

/// <summary>
/// Per-test log, pair id (so retained messages never leak between tests) and cleanup of everything
/// the test started, in reverse order; with <see cref="UsesMosquitto"/>, a real mosquitto per test.
/// </summary>
public abstract class MqttLinkTestBase : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _cleanup = [];
    private MosquittoBroker? _broker;

    internal RecordingLog Log { get; } = new();

    internal string Pair { get; } = MqttLinkTestKit.NewPairId();

    internal MosquittoBroker Broker => _broker ?? throw new InvalidOperationException("this test class runs without mosquitto");

    protected virtual bool UsesMosquitto => false;

    public async Task InitializeAsync()
    {
        if (UsesMosquitto)
        {
            _broker = await MosquittoBroker.StartNewAsync();
        }
    }

    public async Task DisposeAsync()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            await _cleanup[i].DisposeAsync();
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }

    internal T Track<T>(T item)
        where T : IAsyncDisposable
    {
        _cleanup.Add(item);
        return item;
    }

    /// <summary>A link through the per-test mosquitto's listener on <paramref name="port"/> (path "mq").</summary>
    internal static MqttBrokerEndpointOptions Endpoint(int port) => new() { Name = "mq", Host = "127.0.0.1", Port = port };
}
