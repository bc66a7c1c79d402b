using Bastion.Engine.Cluster;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Google.Protobuf;

namespace Bastion.Server.Cluster;

/// <summary>
/// The bodies of the cluster's internal calls, in a small versioned binary form of Bastion's own: a forwarded call (its
/// gRPC method, the namespace the entry node resolved, the request), a task handed to its queue's owner, and a task a
/// poll took, sent to its run's owner with the poll; a Nexus request sent to its task queue's node, and the worker's
/// answer. A request is written in the version its target reads
/// (<see cref="ClusterProtocol"/>: during a rolling upgrade nodes of two builds work together), its answer in the
/// request's version (<see cref="VersionOf"/>); a reader is given the version of what it reads.
/// </summary>
internal static class ClusterMessages
{

    /// <summary>A client's call sent on to the owner of what it addresses; from version 5 with the call's audit record (<see cref="Security.Audit.AuditHandOff"/>).</summary>
    public sealed record Forward(string Method, string NamespaceId, byte[] Request, byte[]? Audit = null);

    public sealed record TaskHandOff(QueueKey Queue, MatchItem Item, bool Front);

    /// <summary>A task a poll took, sent to its run's owner with the poll; from version 5 with the poll's audit record.</summary>
    public sealed record TaskStart(QueueKey Queue, MatchItem Item, byte[] PollRequest, byte[]? Audit = null);

    /// <summary>A poll a partition sent on to wait at its queue's root.</summary>
    public sealed record RootPoll(QueueKey Root, byte[] PollRequest);

    /// <summary>A Nexus request (a <c>nexus.v1.Request</c>) for a task queue's pollers, and how long its caller waits for the answer.</summary>
    public sealed record NexusDispatch(string NamespaceId, string TaskQueue, byte[] Request, TimeSpan Timeout);

    public static byte[] Encode(Forward forward, byte version) => Write(version, w =>
    {
        w.Write(forward.Method);
        w.Write(forward.NamespaceId);
        w.WriteBytes(forward.Request);
        WriteAudit(w, forward.Audit, version);
    });

    public static Forward DecodeForward(byte[] body) => Read(body, (r, v) => new Forward(r.ReadString(), r.ReadString(), r.ReadBytes(), ReadAudit(r, v)));

    public static byte[] Encode(TaskHandOff handOff, byte version) => Write(version, w =>
    {
        WriteQueue(w, handOff.Queue);
        WriteItem(w, handOff.Item, version);
        w.Write(handOff.Front);
    });

    public static TaskHandOff DecodeHandOff(byte[] body) => Read(body, (r, v) => new TaskHandOff(ReadQueue(r), ReadItem(r, v), r.ReadBoolean()));

    public static byte[] Encode(TaskStart start, byte version) => Write(version, w =>
    {
        WriteQueue(w, start.Queue);
        WriteItem(w, start.Item, version);
        w.WriteBytes(start.PollRequest);
        WriteAudit(w, start.Audit, version);
    });

    public static TaskStart DecodeStart(byte[] body) => Read(body, (r, v) => new TaskStart(ReadQueue(r), ReadItem(r, v), r.ReadBytes(), ReadAudit(r, v)));

    /// <summary>A task offered to a root partition's waiting pollers (<see cref="TaskHandOff"/> without keeping).</summary>
    /// <summary>An item offered to a queue's root; from version 6 with how long the root holds it for a poller (before: none).</summary>
    public static byte[] EncodeOffer(QueueKey root, MatchItem item, TimeSpan hold, byte version) => Write(version, w =>
    {
        WriteQueue(w, root);
        WriteItem(w, item, version);
        if (version >= 6)
        {
            w.Write(hold.Ticks);
        }
    });

    public static (QueueKey Root, MatchItem Item, TimeSpan Hold) DecodeOffer(byte[] body) =>
        Read(body, (r, v) => (ReadQueue(r), ReadItem(r, v), v >= 6 ? TimeSpan.FromTicks(r.ReadInt64()) : TimeSpan.Zero));

    public static byte[] EncodeTaken(bool taken, byte version) => Write(version, w => w.Write(taken));

    public static bool DecodeTaken(byte[] body) => Read(body, (r, _) => r.ReadBoolean());

    public static byte[] Encode(RootPoll poll, byte version) => Write(version, w =>
    {
        WriteQueue(w, poll.Root);
        w.WriteBytes(poll.PollRequest);
    });

    public static RootPoll DecodeRootPoll(byte[] body) => Read(body, (r, _) => new RootPoll(ReadQueue(r), r.ReadBytes()));

    /// <summary>A queue whose pollers a node reports.</summary>
    public static byte[] EncodeQueue(QueueKey queue, byte version) => Write(version, w => WriteQueue(w, queue));

    public static QueueKey DecodeQueue(byte[] body) => Read(body, (r, _) => ReadQueue(r));

    public static byte[] EncodePollers(List<(string Identity, DateTime LastAccess)> pollers, byte version) => Write(version, w =>
    {
        w.Write(pollers.Count);
        foreach (var (identity, lastAccess) in pollers)
        {
            w.Write(identity);
            w.Write(lastAccess.Ticks);
        }
    });

    public static List<(string Identity, DateTime LastAccess)> DecodePollers(byte[] body) => Read(body, (r, _) =>
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
    public static byte[] EncodeStarted(byte[]? response, byte version) => Write(version, w => w.WriteOptional(response));

    public static byte[]? DecodeStarted(byte[] body) => Read(body, (r, _) => r.ReadOptionalBytes());

    /// <summary>The version <paramref name="body"/> was written in: its answer is written in the same.</summary>
    public static byte VersionOf(byte[] body) => body is { Length: > 0 } ? body[0] : throw new InvalidDataException("An empty cluster message.");

    public static byte[] Encode(NexusDispatch dispatch, byte version) => Write(version, w =>
    {
        w.Write(dispatch.NamespaceId);
        w.Write(dispatch.TaskQueue);
        w.WriteBytes(dispatch.Request);
        w.Write(dispatch.Timeout.Ticks);
    });

    public static NexusDispatch DecodeNexusDispatch(byte[] body) => Read(body, (r, _) =>
    {
        var dispatch = new NexusDispatch(r.ReadString(), r.ReadString(), r.ReadBytes(), TimeSpan.FromTicks(r.ReadInt64()));
        return dispatch.Timeout > TimeSpan.Zero ? dispatch : throw new InvalidDataException("A Nexus dispatch without a positive timeout.");
    });

    /// <summary>A worker's answer to a Nexus request (its response or its handler failure), or none (no worker answered in time).</summary>
    public static byte[] EncodeNexusAnswer(NexusTaskAnswer? answer, byte version) => Write(version, w =>
    {
        w.Write(answer is not null);
        if (answer is not null)
        {
            w.WriteOptional(answer.Response?.ToByteArray());
            w.WriteOptional(answer.HandlerFailure?.ToByteArray());
        }
    });

    public static NexusTaskAnswer? DecodeNexusAnswer(byte[] body) => Read(body, (r, _) => r.ReadBoolean()
        ? new NexusTaskAnswer(
            r.ReadOptionalBytes() is { } response ? Temporalio.Api.Nexus.V1.Response.Parser.ParseFrom(response) : null,
            r.ReadOptionalBytes() is { } failure ? Temporalio.Api.Failure.V1.Failure.Parser.ParseFrom(failure) : null)
        : null);


    private static byte[] Write(byte version, Action<BinaryWriter> write) =>
        version is >= ClusterProtocol.Oldest and <= ClusterProtocol.Newest
            ? ClusterBinary.Write(version, write)
            : throw new ArgumentOutOfRangeException(nameof(version), version, "A cluster message version this build does not write.");

    private static T Read<T>(byte[] body, Func<BinaryReader, byte, T> read) => ClusterBinary.Read(body, ClusterProtocol.Oldest, ClusterProtocol.Newest, "cluster message", read);

    /// <summary>From version 5 a call's audit record may travel with it; to an older node it is not sent (the sender writes it).</summary>
    private static void WriteAudit(BinaryWriter w, byte[]? audit, byte version)
    {
        if (version >= 5)
        {
            w.WriteOptional(audit);
        }
        else if (audit is not null)
        {
            throw new ArgumentException($"Cluster message version {version} carries no audit record.", nameof(audit));
        }
    }

    private static byte[]? ReadAudit(BinaryReader r, byte version) => version >= 5 ? r.ReadOptionalBytes() : null;

    private static void WriteQueue(BinaryWriter w, QueueKey queue)
    {
        w.Write(queue.NamespaceId);
        w.Write(queue.Name);
        w.Write((byte)queue.Type);
        w.Write(queue.Partition);
        w.Write(queue.Version);
    }

    private static QueueKey ReadQueue(BinaryReader r) => new(r.ReadString(), r.ReadString(), (TaskCategory)r.ReadByte(), r.ReadInt32(), r.ReadString());

    /// <summary>An item; from version 4 with its priority (a node of version 3 dispatches it with none).</summary>
    private static void WriteItem(BinaryWriter w, MatchItem item, byte version)
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

        if (version >= 4)
        {
            w.Write(item.Priority.Key);
            w.Write(item.Priority.FairnessKey ?? string.Empty);
            w.Write(item.Priority.Weight);
        }
    }

    private static TaskPriority ReadPriority(BinaryReader r, byte version) =>
        version >= 4 ? new(r.ReadInt32(), r.ReadString() is { Length: > 0 } fairnessKey ? fairnessKey : null, r.ReadSingle()) : default;

    private static MatchItem ReadItem(BinaryReader r, byte version)
    {
        var key = r.ReadKey();
        return r.ReadByte() switch
        {
            1 => new WorkflowTaskItem(key, r.ReadInt64(), r.ReadInt32()) { Priority = ReadPriority(r, version) },
            2 => new ActivityTaskItem(key, r.ReadInt64(), r.ReadInt32()) { Priority = ReadPriority(r, version) },
            3 => new QueryTaskItem(key, r.ReadString()) { Priority = ReadPriority(r, version) },
            var kind => throw new InvalidDataException($"Unknown task kind {kind} in a cluster message."),
        };
    }
}
