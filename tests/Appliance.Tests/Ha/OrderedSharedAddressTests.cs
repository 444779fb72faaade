using Appliance.Agent.Ha;
using Appliance.Core.Ports;

namespace Appliance.Tests.Ha;

public class OrderedSharedAddressTests
{
    [Fact]
    public async Task A_retried_start_up_release_never_removes_an_address_the_engine_ordered_taken()
    {
        var inner = new GatedAddress();
        using var address = new OrderedSharedAddress(inner);

        Assert.True(await address.RetryReleaseAsync(CancellationToken.None)); // nothing ordered yet: release
        Assert.Equal(["release"], inner.Calls);

        // The engine takes the address; a retry arriving meanwhile waits for it, then stands down.
        inner.Hold = new TaskCompletionSource();
        Task take = address.TakeAsync(CancellationToken.None);
        Task<bool> retry = address.RetryReleaseAsync(CancellationToken.None);
        await Task.Delay(50);
        Assert.False(retry.IsCompleted);
        inner.Hold.SetResult();
        await take;

        Assert.False(await retry);
        Assert.True(address.IsHeld);
        Assert.Equal(["release", "take"], inner.Calls);

        await address.ReleaseAsync(CancellationToken.None); // a demotion: retries may release again
        Assert.True(await address.RetryReleaseAsync(CancellationToken.None));
        Assert.Equal(["release", "take", "release", "release"], inner.Calls);
    }

    private sealed class GatedAddress : ISharedAddress
    {
        public List<string> Calls { get; } = [];

        public TaskCompletionSource? Hold { get; set; }

        public bool IsHeld { get; private set; }

        public async Task TakeAsync(CancellationToken cancellationToken)
        {
            Calls.Add("take");
            if (Hold is { } hold)
            {
                await hold.Task;
            }

            IsHeld = true;
        }

        public Task ReleaseAsync(CancellationToken cancellationToken)
        {
            Calls.Add("release");
            IsHeld = false;
            return Task.CompletedTask;
        }
    }
}
