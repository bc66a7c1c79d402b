using Bastion.Engine.Cluster;

namespace Bastion.Tests.Engine.Cluster;

public sealed class RendezvousTests
{
    private static readonly string[] s_keys = [.. Enumerable.Range(0, 4000).Select(i => $"key/{i}")];

    [Fact]
    public void TheOwner_IsTheSame_WhateverTheOrderOfTheNodes()
    {
        string[] nodes = ["a", "b", "c", "d"];
        foreach (var key in s_keys.Take(200))
        {
            Assert.Equal(Rendezvous.OwnerOf(key, nodes), Rendezvous.OwnerOf(key, [.. nodes.Reverse()]));
        }

        Assert.Null(Rendezvous.OwnerOf("key", []));
        Assert.Equal("only", Rendezvous.OwnerOf("key", ["only"]));
    }

    /// <summary>Known values: the scores must not change between versions, or a rolling upgrade would split ownership.</summary>
    [Fact]
    public void Scores_AreStable()
    {
        Assert.Equal(Rendezvous.Score("node-a", "shard/0"), Rendezvous.Score("node-a", "shard/0"));
        Assert.NotEqual(Rendezvous.Score("ab", "c"), Rendezvous.Score("a", "bc"));
        Assert.Equal(0x915073A982C9A0ECUL, Rendezvous.Score("node-a", "shard/0"));
    }

    [Fact]
    public void AJoiningNode_TakesOnlyKeys_AndAboutItsShare()
    {
        string[] before = ["a", "b", "c"];
        string[] after = ["a", "b", "c", "d"];
        var moved = 0;
        foreach (var key in s_keys)
        {
            var was = Rendezvous.OwnerOf(key, before);
            var now = Rendezvous.OwnerOf(key, after);
            if (was != now)
            {
                Assert.Equal("d", now); // nothing moves between the nodes that stayed
                moved++;
            }
        }

        Assert.InRange(moved, s_keys.Length / 4 * 0.85, s_keys.Length / 4 * 1.15);
    }

    [Fact]
    public void ALeavingNode_GivesUpOnlyItsKeys_SpreadOverTheOthers()
    {
        string[] before = ["a", "b", "c", "d"];
        string[] after = ["a", "b", "d"];
        var gained = new Dictionary<string, int>();
        foreach (var key in s_keys)
        {
            var was = Rendezvous.OwnerOf(key, before)!;
            var now = Rendezvous.OwnerOf(key, after)!;
            if (was != "c")
            {
                Assert.Equal(was, now);
            }
            else
            {
                gained[now] = gained.GetValueOrDefault(now) + 1;
            }
        }

        Assert.Equal(3, gained.Count);
        Assert.All(gained.Values, n => Assert.InRange(n, 250, 420)); // about a third of ~1000 each
    }
}
