namespace Bastion.Engine.History;

/// <summary>
/// New run ids: UUIDs of version 7 (RFC 9562), whose text begins with the creation time in milliseconds. Clients treat a
/// run id as an opaque UUID string; the store keys runs, history, tasks and visibility by it, so ids that grow with time
/// put the rows of the runs in flight on the same few B-tree pages instead of one random page per index and run — a
/// group commit then writes a handful of pages where random (version 4) ids made it write dozens. The time in the id is
/// the run's start time, which anyone who may see the run can read anyway; 74 random bits keep ids unique.
/// </summary>
internal static class RunIds
{
    public static string New(TimeProvider time) => Guid.CreateVersion7(time.GetUtcNow()).ToString();
}
