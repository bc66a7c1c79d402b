using Bastion.Engine.Cluster;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Google.Protobuf;

namespace Bastion.Server.Cluster;

/// <summary>
/// The bodies of the cluster's internal calls, in a small versioned binary form of Bastion's own: a forwarded call (its
/// gRPC method, the namespace the entry node resolved, the request), a task handed to its queue's owner, and a task a
/// poll took, sent to its run's owner with the poll; a Nexus request sent to its task queue's node, and the worker's answer. Nodes of one cluster run the same version (upgrades go one node at
/// a time between versions that read each other's form: <see cref="Version"/>). Version 2: task queue partitions. Version 3: worker deployment version sub-queues.
/// </summary>
internal static class ClusterMessages
{
    public const byte Version = 3;

    public sealed record Forward(string Method, string NamespaceId, byte[] Request);

    public sealed record TaskHandOff(QueueKey Queue, MatchItem Item, bool Front);

    public sealed record TaskStart(QueueKey Queue, MatchItem Item, byte[] PollRequest);

    /// <summary>A poll a partition sent on to wait at its queue's root.</summary>
    public sealed record RootPoll(QueueKey Root, byte[] PollRequest);

    /// <summary>A Nexus request (a <c>nexus.v1.Request</c>) for a task queue's pollers, and how long its caller waits for the answer.</summary>
    public sealed record NexusDispatch(string NamespaceId, string TaskQueue, byte[] Request, TimeSpan Timeout);

    public static byte[] Encode(Forward forward) => Write(w =>
    {
        w.Write(forward.Method);
        w.Write(forward.NamespaceId);
        w.WriteBytes(forward.Request);
    });

    public static Forward DecodeForward(byte[] body) => Read(body, r => new Forward(r.ReadString(), r.ReadString(), r.ReadBytes()));

    public static byte[] Encode(TaskHandOff handOff) => Write(w =>
    {
        WriteQueue(w, handOff.Queue);
        WriteItem(w, handOff.Item);
        w.Write(handOff.Front);
    });

    public static TaskHandOff DecodeHandOff(byte[] body) => Read(body, r => new TaskHandOff(ReadQueue(r), ReadItem(r), r.ReadBoolean()));

    public static byte[] Encode(TaskStart start) => Write(w =>
    {
        WriteQueue(w, start.Queue);
        WriteItem(w, start.Item);
        w.WriteBytes(start.PollRequest);
    });

    public static TaskStart DecodeStart(byte[] body) => Read(body, r => new TaskStart(ReadQueue(r), ReadItem(r), r.ReadBytes()));

    /// <summary>A task offered to a root partition's waiting pollers (<see cref="TaskHandOff"/> without keeping).</summary>
    public static byte[] EncodeOffer(QueueKey root, MatchItem item) => Write(w =>
    {
        WriteQueue(w, root);
        WriteItem(w, item);
    });

    public static (QueueKey Root, MatchItem Item) DecodeOffer(byte[] body) => Read(body, r => (ReadQueue(r), ReadItem(r)));

    public static byte[] EncodeTaken(bool taken) => Write(w => w.Write(taken));

    public static bool DecodeTaken(byte[] body) => Read(body, r => r.ReadBoolean());

    public static byte[] Encode(RootPoll poll) => Write(w =>
    {
        WriteQueue(w, poll.Root);
        w.WriteBytes(poll.PollRequest);
    });

    public static RootPoll DecodeRootPoll(byte[] body) => Read(body, r => new RootPoll(ReadQueue(r), r.ReadBytes()));

    /// <summary>A queue whose pollers a node reports.</summary>
    public static byte[] EncodeQueue(QueueKey queue) => Write(w => WriteQueue(w, queue));

    public static QueueKey DecodeQueue(byte[] body) => Read(body, ReadQueue);

    public static byte[] EncodePollers(List<(string Identity, DateTime LastAccess)> pollers) => Write(w =>
    {
        w.Write(pollers.Count);
        foreach (var (identity, lastAccess) in pollers)
        {
            w.Write(identity);
            w.Write(lastAccess.Ticks);
        }
    });

    public static List<(string Identity, DateTime LastAccess)> DecodePollers(byte[] body) => Read(body, r =>
    {
        var count = r.ReadInt32();
        if (count < 0 || count > body.Length)
        {
            throw new InvalidDataException("A poller list with a bad count.");
        }

        var pollers = new List<(string, DateTime)>(count);
        for (var i = 0; i < count; i++)
        {
            pollers.Add((r.ReadString(), new DateTime(r.ReadInt64(), DateTimeKind.Utc)));
        }

        return pollers;
    });

    /// <summary>A started task's poll response, or none (the item was stale).</summary>
    public static byte[] EncodeStarted(byte[]? response) => Write(w => w.WriteOptional(response));

    public static byte[]? DecodeStarted(byte[] body) => Read(body, r => r.ReadOptionalBytes());

    public static byte[] Encode(NexusDispatch dispatch) => Write(w =>
    {
        w.Write(dispatch.NamespaceId);
        w.Write(dispatch.TaskQueue);
        w.WriteBytes(dispatch.Request);
        w.Write(dispatch.Timeout.Ticks);
    });

    public static NexusDispatch DecodeNexusDispatch(byte[] body) => Read(body, r =>
    {
        var dispatch = new NexusDispatch(r.ReadString(), r.ReadString(), r.ReadBytes(), TimeSpan.FromTicks(r.ReadInt64()));
        return dispatch.Timeout > TimeSpan.Zero ? dispatch : throw new InvalidDataException("A Nexus dispatch without a positive timeout.");
    });

    /// <summary>A worker's answer to a Nexus request (its response or its handler failure), or none (no worker answered in time).</summary>
    public static byte[] EncodeNexusAnswer(NexusTaskAnswer? answer) => Write(w =>
    {
        w.Write(answer is not null);
        if (answer is not null)
        {
            w.WriteOptional(answer.Response?.ToByteArray());
            w.WriteOptional(answer.HandlerFailure?.ToByteArray());
        }
    });

    public static NexusTaskAnswer? DecodeNexusAnswer(byte[] body) => Read(body, r => r.ReadBoolean()
        ? new NexusTaskAnswer(
            r.ReadOptionalBytes() is { } response ? Temporalio.Api.Nexus.V1.Response.Parser.ParseFrom(response) : null,
            r.ReadOptionalBytes() is { } failure ? Temporalio.Api.Failure.V1.Failure.Parser.ParseFrom(failure) : null)
        : null);

    private static byte[] Write(Action<BinaryWriter> write) => ClusterBinary.Write(Version, write);

    private static T Read<T>(byte[] body, Func<BinaryReader, T> read) => ClusterBinary.Read(body, Version, "cluster message", read);

    private static void WriteQueue(BinaryWriter w, QueueKey queue)
    {
        w.Write(queue.NamespaceId);
        w.Write(queue.Name);
        w.Write((byte)queue.Type);
        w.Write(queue.Partition);
        w.Write(queue.Version);
    }

    private static QueueKey ReadQueue(BinaryReader r) => new(r.ReadString(), r.ReadString(), (TaskCategory)r.ReadByte(), r.ReadInt32(), r.ReadString());

    private static void WriteItem(BinaryWriter w, MatchItem item)
    {
        w.Write(item.Key);
        switch (item)
        {
            case WorkflowTaskItem task:
                w.Write((byte)1);
                w.Write(task.ScheduledEventId);
                w.Write(task.Attempt);
                break;
            case ActivityTaskItem task:
                w.Write((byte)2);
                w.Write(task.ScheduledEventId);
                w.Write(task.Attempt);
                break;
            case QueryTaskItem query:
                w.Write((byte)3);
                w.Write(query.QueryId);
                break;
            default:
                throw new InvalidOperationException($"Unknown item {item.GetType().Name}.");
        }
    }

    private static MatchItem ReadItem(BinaryReader r)
    {
        var key = r.ReadKey();
        return r.ReadByte() switch
        {
            1 => new WorkflowTaskItem(key, r.ReadInt64(), r.ReadInt32()),
            2 => new ActivityTaskItem(key, r.ReadInt64(), r.ReadInt32()),
            3 => new QueryTaskItem(key, r.ReadString()),
            var kind => throw new InvalidDataException($"Unknown task kind {kind} in a cluster message."),
        };
    }
}
