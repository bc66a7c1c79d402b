using Bastion.Engine.History;

namespace Bastion.Tests.Engine;

public sealed class RunIdsTests
{
    [Fact]
    public void RunIds_AreUuidVersion7_AndSortAsTheirStartTimes()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(RunIds.New(time));
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.All(ids, id => Assert.Equal(7, Guid.Parse(id).Version));
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids); // the store's keys: later runs sort after earlier ones
        Assert.Equal(5, ids.Distinct().Count());
    }
}
