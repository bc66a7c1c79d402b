using System.Text;
using Bastion.Engine.Errors;
using Google.Protobuf;

namespace Bastion.Engine.History;

/// <summary>What a task token stands for.</summary>
internal enum TaskTokenKind : byte
{
    WorkflowTask = 1,
    ActivityTask = 2,
    QueryTask = 3,
}

/// <summary>
/// The opaque token handed to workers with a task. Binary: version, kind, namespace id, workflow id, run id,
/// scheduled event id, attempt, query id. Parsing never trusts it: a token that does not parse or names another
/// namespace is INVALID_ARGUMENT, one naming a task that is gone (or in Temporal's format) is NOT_FOUND.
/// </summary>
internal sealed record TaskToken(TaskTokenKind Kind, WorkflowKey Key, long ScheduledEventId, int Attempt, string QueryId)
{
    private const byte Version = 1;

    public static TaskToken ForWorkflowTask(WorkflowKey key, long scheduledEventId, int attempt) =>
        new(TaskTokenKind.WorkflowTask, key, scheduledEventId, attempt, string.Empty);

    public static TaskToken ForActivityTask(WorkflowKey key, long scheduledEventId, int attempt) =>
        new(TaskTokenKind.ActivityTask, key, scheduledEventId, attempt, string.Empty);

    public static TaskToken ForQuery(WorkflowKey key, string queryId) => new(TaskTokenKind.QueryTask, key, 0, 0, queryId);

    public ByteString Encode()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Version);
            writer.Write((byte)Kind);
            writer.Write(Key.NamespaceId);
            writer.Write(Key.WorkflowId);
            writer.Write(Key.RunId);
            writer.Write(ScheduledEventId);
            writer.Write(Attempt);
            writer.Write(QueryId);
        }

        return ByteString.CopyFrom(stream.GetBuffer(), 0, (int)stream.Length);
    }

    /// <summary>Parses a token a caller sent for <paramref name="namespaceId"/>, expecting <paramref name="kind"/>.</summary>
    public static TaskToken Decode(ByteString? data, string namespaceId, TaskTokenKind kind)
    {
        if (data is null || data.IsEmpty)
        {
            throw ServiceException.InvalidArgument("Task token not set on request.");
        }

        TaskToken token;
        try
        {
            using var reader = new BinaryReader(new MemoryStream(data.ToByteArray()), Encoding.UTF8);
            if (reader.ReadByte() != Version)
            {
                throw new InvalidDataException();
            }

            var parsedKind = (TaskTokenKind)reader.ReadByte();
            var key = new WorkflowKey(reader.ReadString(), reader.ReadString(), reader.ReadString());
            token = new TaskToken(parsedKind, key, reader.ReadInt64(), reader.ReadInt32(), reader.ReadString());
            if (reader.BaseStream.Position != reader.BaseStream.Length)
            {
                throw new InvalidDataException();
            }
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or IOException or FormatException or ArgumentException)
        {
            // A token in Temporal's own format (say, issued by another server) is well formed but names no task
            // here: NOT_FOUND, as Temporal answers for a task it does not know, so SDKs raise their not-found errors.
            throw IsTemporalTaskToken(data)
                ? ServiceException.NotFound("Task not found: the task token names no task on this server.")
                : ServiceException.InvalidArgument("Task token is malformed: it was not issued by this server.");
        }

        if (token.Kind != kind)
        {
            throw ServiceException.InvalidArgument($"Task token is for a {token.Kind}, not a {kind}.");
        }

        if (token.Key.NamespaceId != namespaceId)
        {
            throw ServiceException.InvalidArgument("Task token belongs to another namespace.");
        }

        return token;
    }

    /// <summary>
    /// Whether the bytes are a protobuf message as Temporal encodes its task tokens: a well-formed field list whose
    /// first three fields (namespace id, workflow id, run id) are strings.
    /// </summary>
    private static bool IsTemporalTaskToken(ByteString data)
    {
        var ids = 0;
        try
        {
            var input = new CodedInputStream(data.ToByteArray());
            while (input.ReadTag() is var tag and not 0)
            {
                var field = WireFormat.GetTagFieldNumber(tag);
                if (field is >= 1 and <= 3)
                {
                    if (WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
                    {
                        return false;
                    }

                    input.ReadString();
                    ids |= 1 << field;
                }
                else
                {
                    input.SkipLastField();
                }
            }
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }

        return ids == 0b1110;
    }
}
