using System.Buffers;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.TaskQueue.V1;

namespace Bastion.Benchmarks;

/// <summary>
/// Protobuf round trip of a small workflow history (six events, three with JSON payloads): the shape the
/// server writes on every task completion and returns from GetWorkflowExecutionHistory.
/// </summary>
[MemoryDiagnoser]
public class HistorySerializationBenchmarks
{
    private History _history = null!;
    private byte[] _bytes = null!;
    private ArrayBufferWriter<byte> _buffer = null!;

    [Params(64, 1024)]
    public int PayloadBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _history = BuildHistory(PayloadBytes);
        _bytes = _history.ToByteArray();
        _buffer = new ArrayBufferWriter<byte>(_bytes.Length * 2);
    }

    [Benchmark]
    public byte[] Serialize() => _history.ToByteArray();

    [Benchmark]
    public int SerializeToBuffer()
    {
        _buffer.ResetWrittenCount();
        _history.WriteTo(_buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public History Parse() => History.Parser.ParseFrom(_bytes);

    [Benchmark]
    public int CalculateSize() => _history.CalculateSize();

    public static History BuildHistory(int payloadBytes)
    {
        var now = Timestamp.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var taskQueue = new TaskQueue { Name = "bench-queue", Kind = TaskQueueKind.Normal };
        var history = new History();
        history.Events.Add(new HistoryEvent
        {
            EventId = 1,
            EventTime = now,
            EventType = EventType.WorkflowExecutionStarted,
            TaskId = 1048577,
            WorkflowExecutionStartedEventAttributes = new()
            {
                WorkflowType = new WorkflowType { Name = "OneActivityWorkflow" },
                TaskQueue = taskQueue,
                Input = Payloads(payloadBytes),
                WorkflowExecutionTimeout = Duration.FromTimeSpan(TimeSpan.Zero),
                WorkflowTaskTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
                OriginalExecutionRunId = "0195f3a2-7c1e-7c59-9d1a-3f0e6b2f4a10",
                FirstExecutionRunId = "0195f3a2-7c1e-7c59-9d1a-3f0e6b2f4a10",
                Identity = "1234@bench-host",
                Attempt = 1,
            },
        });
        history.Events.Add(new HistoryEvent
        {
            EventId = 2,
            EventTime = now,
            EventType = EventType.WorkflowTaskScheduled,
            TaskId = 1048578,
            WorkflowTaskScheduledEventAttributes = new()
            {
                TaskQueue = taskQueue,
                StartToCloseTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
                Attempt = 1,
            },
        });
        history.Events.Add(new HistoryEvent
        {
            EventId = 3,
            EventTime = now,
            EventType = EventType.WorkflowTaskStarted,
            TaskId = 1048579,
            WorkflowTaskStartedEventAttributes = new()
            {
                ScheduledEventId = 2,
                Identity = "1234@bench-host",
                RequestId = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
            },
        });
        history.Events.Add(new HistoryEvent
        {
            EventId = 4,
            EventTime = now,
            EventType = EventType.WorkflowTaskCompleted,
            TaskId = 1048580,
            WorkflowTaskCompletedEventAttributes = new()
            {
                ScheduledEventId = 2,
                StartedEventId = 3,
                Identity = "1234@bench-host",
            },
        });
        history.Events.Add(new HistoryEvent
        {
            EventId = 5,
            EventTime = now,
            EventType = EventType.ActivityTaskScheduled,
            TaskId = 1048581,
            ActivityTaskScheduledEventAttributes = new()
            {
                ActivityId = "1",
                ActivityType = new ActivityType { Name = "Greet" },
                TaskQueue = taskQueue,
                Input = Payloads(payloadBytes),
                StartToCloseTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
                WorkflowTaskCompletedEventId = 4,
            },
        });
        history.Events.Add(new HistoryEvent
        {
            EventId = 6,
            EventTime = now,
            EventType = EventType.ActivityTaskCompleted,
            TaskId = 1048582,
            ActivityTaskCompletedEventAttributes = new()
            {
                Result = Payloads(payloadBytes),
                ScheduledEventId = 5,
                StartedEventId = 7,
                Identity = "1234@bench-host",
            },
        });
        return history;
    }

    private static Payloads Payloads(int size)
    {
        var json = new byte[size];
        json.AsSpan().Fill((byte)'a');
        json[0] = (byte)'"';
        json[^1] = (byte)'"';
        var payload = new Payload { Data = ByteString.CopyFrom(json) };
        payload.Metadata.Add("encoding", ByteString.CopyFromUtf8("json/plain"));
        return new Payloads { Payloads_ = { payload } };
    }
}
