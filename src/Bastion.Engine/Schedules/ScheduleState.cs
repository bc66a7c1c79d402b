using Google.Protobuf;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.Schedules;

/// <summary>
/// A schedule as stored: what Describe shows (schedule, info, memo, search attributes) plus what only the
/// scheduler needs: the create request id, the time up to which nominal times have been processed, starts
/// waiting for their overlap policy, the conflict token (bumped by Update and Patch), and the last completed
/// action's result and the last failure, which the next action's run receives (as Temporal's scheduler passes them).
/// </summary>
internal sealed class ScheduleState
{
    /// <summary>Format 2 adds the last completion result and continued failure; format 1 records are still read.</summary>
    private const int Format = 2;

    public required string ScheduleId { get; init; }

    public string CreateRequestId { get; set; } = string.Empty;

    public DateTime LastProcessed { get; set; }

    public long ConflictToken { get; set; } = 1;

    public DescribeScheduleResponse Described { get; set; } = new();

    public List<BufferedStart> Buffer { get; } = [];

    /// <summary>The run a CANCEL_OTHER start already asked to cancel (asked once).</summary>
    public string? CancelRequestedRunId { get; set; }

    /// <summary>The result of the last action's run that completed with one.</summary>
    public Payloads? LastCompletionResult { get; set; }

    /// <summary>The failure of the last action's run that failed, cleared by a later completion with a result.</summary>
    public Failure? ContinuedFailure { get; set; }

    public byte[] Serialize()
    {
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        w.Write(Format);
        w.Write(ScheduleId);
        w.Write(CreateRequestId);
        w.Write(LastProcessed.Ticks);
        w.Write(ConflictToken);
        w.Write(CancelRequestedRunId ?? string.Empty);
        var described = Described.ToByteArray();
        w.Write(described.Length);
        w.Write(described);
        w.Write(Buffer.Count);
        foreach (var b in Buffer)
        {
            w.Write(b.Nominal.Ticks);
            w.Write(b.Actual.Ticks);
            w.Write((int)b.OverlapPolicy);
            w.Write(b.Manual);
        }

        WriteMessage(w, LastCompletionResult);
        WriteMessage(w, ContinuedFailure);
        w.Flush();
        return stream.ToArray();
    }

    public static ScheduleState Deserialize(byte[] data)
    {
        using var r = new BinaryReader(new MemoryStream(data));
        var format = r.ReadInt32();
        if (format is < 1 or > Format)
        {
            throw new InvalidDataException("Unknown schedule record format.");
        }

        var state = new ScheduleState
        {
            ScheduleId = r.ReadString(),
            CreateRequestId = r.ReadString(),
            LastProcessed = new DateTime(r.ReadInt64(), DateTimeKind.Utc),
            ConflictToken = r.ReadInt64(),
        };
        var cancel = r.ReadString();
        state.CancelRequestedRunId = cancel.Length == 0 ? null : cancel;
        state.Described = DescribeScheduleResponse.Parser.ParseFrom(r.ReadBytes(r.ReadInt32()));
        var count = r.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            state.Buffer.Add(new BufferedStart(
                new DateTime(r.ReadInt64(), DateTimeKind.Utc),
                new DateTime(r.ReadInt64(), DateTimeKind.Utc),
                (ScheduleOverlapPolicy)r.ReadInt32(),
                r.ReadBoolean()));
        }

        if (format >= 2)
        {
            state.LastCompletionResult = ReadMessage(r, Payloads.Parser);
            state.ContinuedFailure = ReadMessage(r, Failure.Parser);
        }

        return state;
    }

    private static void WriteMessage(BinaryWriter w, IMessage? message)
    {
        var bytes = message?.ToByteArray();
        w.Write(bytes is null ? -1 : bytes.Length);
        if (bytes is not null)
        {
            w.Write(bytes);
        }
    }

    private static T? ReadMessage<T>(BinaryReader r, MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        var length = r.ReadInt32();
        return length < 0 ? null : parser.ParseFrom(r.ReadBytes(length));
    }
}

/// <summary>An action due (nominal time, time with jitter) waiting for its overlap policy to let it start.</summary>
internal sealed record BufferedStart(DateTime Nominal, DateTime Actual, ScheduleOverlapPolicy OverlapPolicy, bool Manual);
