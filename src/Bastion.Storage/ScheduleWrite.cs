namespace Bastion.Storage;

/// <summary>
/// A schedule's new state, committed in the same transaction as the run its action starts (if any), so an action
/// is taken exactly once. Versioned like a run: <see cref="ExpectedVersion"/> 0 creates the schedule, a different
/// stored version rejects the whole transition. Fenced like a run write: the schedule lives on a shard
/// (<see cref="ShardId"/>), and a writer whose <see cref="RangeId"/> for it is stale is refused.
/// </summary>
public sealed class ScheduleWrite
{
    public required string NamespaceId { get; init; }

    /// <summary>The shard the schedule belongs to; its owner runs the schedule. Written with every version, so a row from before shards gets one at its next write.</summary>
    public required int ShardId { get; init; }

    /// <summary>The writer's range id of <see cref="ShardId"/>.</summary>
    public required long RangeId { get; init; }

    /// <summary>The schedule id as stored: a blind index (the id itself is inside <see cref="Data"/>).</summary>
    public required string ScheduleId { get; init; }

    public required long ExpectedVersion { get; init; }

    public required long NewVersion { get; init; }

    /// <summary>The encoded schedule state; ignored when <see cref="Deletes"/>.</summary>
    public required byte[] Data { get; init; }

    public bool Deletes { get; init; }
}

/// <summary>A schedule as stored.</summary>
public sealed record ScheduleRecord(string NamespaceId, string ScheduleId, long Version, byte[] Data);
