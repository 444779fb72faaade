namespace Appliance.Agent.Store;

/// <summary>The store cannot be opened; the message is the one line the agent prints before it stops.</summary>
public sealed class StoreOpenException : Exception
{
    public StoreOpenException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    public StoreOpenException()
    {
    }

    public StoreOpenException(string message) : base(message)
    {
    }
}
