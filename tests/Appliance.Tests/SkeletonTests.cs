using Appliance.Core.Failover;

namespace Appliance.Tests;

public class SkeletonTests
{
    [Fact]
    public void Roles_are_defined() => Assert.Equal(4, Enum.GetValues<HaRole>().Length);
}
