using Google.Protobuf;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.Schedules;

/// <summary>
/// A schedule as stored: what Describe shows (schedule, info, memo, search attributes) plus what only the
/// scheduler needs: the create request id, the time up to which nominal times have been processed, starts
/// waiting for their overlap policy, and the conflict token (bumped by Update and Patch).
/// </summary>
internal sealed class ScheduleState
{
    private const int Format = 1;

    public required string ScheduleId { get; init; }

    public string CreateRequestId { get; set; } = string.Empty;

    public DateTime LastProcessed { get; set; }

    public long ConflictToken { get; set; } = 1;

    public DescribeScheduleResponse Described { get; set; } = new();

    public List<BufferedStart> Buffer { get; } = [];

    /// <summary>The run a CANCEL_OTHER start already asked to cancel (asked once).</summary>
    public string? CancelRequestedRunId { get; set; }

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

        w.Flush();
        return stream.ToArray();
    }

    public static ScheduleState Deserialize(byte[] data)
    {
        using var r = new BinaryReader(new MemoryStream(data));
        if (r.ReadInt32() != Format)
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

        return state;
    }
}

/// <summary>An action due (nominal time, time with jitter) waiting for its overlap policy to let it start.</summary>
internal sealed record BufferedStart(DateTime Nominal, DateTime Actual, ScheduleOverlapPolicy OverlapPolicy, bool Manual);
