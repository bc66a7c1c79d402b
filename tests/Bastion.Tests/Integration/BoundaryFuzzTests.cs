using System.Globalization;
using Bastion.Server;
using Bastion.Tests.Security;
using Bastion.Tests.Wire;
using Bastion.Wire;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Integration;

/// <summary>A server of its own for the fuzz test (it creates, updates and deletes things), with the HTTP API on.</summary>
public sealed class FuzzServerFixture : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-fuzz-" + Guid.NewGuid().ToString("N"));

    /// <summary>A namespace the fuzz leaves alone (it deletes and deprecates "default").</summary>
    public const string Steady = "steady";

    internal BastionServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var options = new ServerOptions
        {
            Port = 0,
            HttpPort = 0,
            DatabaseFile = Path.Combine(_directory, "bastion.db"),
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Error, // an INTERNAL answer logs its stack trace here
        };
        options.Namespaces.Add(Steady);
        Server = await BastionServer.StartAsync(options);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Bad input never ends in INTERNAL: every unary method of WorkflowService, OperatorService and CloudService (from
/// the descriptors) gets requests with one extreme value each — timestamps and durations out of range and at the
/// edges of the range, undefined enum numbers, integers at their limits, oversized strings and list filters — over
/// real gRPC as the dev-mode owner (so authorization passes and the handlers run). No answer may be INTERNAL or
/// UNKNOWN, and the server must answer normally afterwards. The sample is fixed (a seeded shuffle) so a failure
/// reproduces.
/// </summary>
public sealed class BoundaryFuzzTests(FuzzServerFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<FuzzServerFixture>
{
    /// <summary>Mutations per method; BASTION_FUZZ_PER_METHOD and BASTION_FUZZ_SEED explore further by hand.</summary>
    private static readonly int s_perMethod = int.TryParse(Environment.GetEnvironmentVariable("BASTION_FUZZ_PER_METHOD"), out var n) ? n : 40;
    private static readonly int s_seed = int.TryParse(Environment.GetEnvironmentVariable("BASTION_FUZZ_SEED"), out var seed) ? seed : 0;
    private const int Parallelism = 8;
    private const long MaxTimestampSeconds = 253_402_300_799;
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxDurationSeconds = 315_576_000_000;
    private const long DurationCapSeconds = Bastion.Engine.History.DurationCap.MaxSeconds;

    /// <summary>Methods that wait for something that never comes here: short deadlines, their answers are not the point.</summary>
    private static readonly HashSet<string> s_waiting =
    [
        "PollWorkflowTaskQueue", "PollActivityTaskQueue", "PollNexusTaskQueue", "PollWorkflowExecutionUpdate",
        "UpdateWorkflowExecution", "ExecuteMultiOperation", "GetWorkflowExecutionHistory", "GetWorkflowExecutionHistoryReverse",
    ];

    private static readonly string s_manyOrs = string.Join(" OR ", Enumerable.Range(0, 6000).Select(i => $"WorkflowId = 'w{i}'"));
    private static readonly string s_longIn = "WorkflowId IN (" + string.Join(", ", Enumerable.Range(0, 12000).Select(i => $"'w{i}'")) + ")";
    private static readonly string s_deepParens = new string('(', 200_000) + "WorkflowId = 'x'" + new string(')', 200_000);
    private static readonly string s_deepAnds = string.Join(" AND ", Enumerable.Range(0, 3000).Select(i => $"(WorkflowId = 'w{i}' OR RunId = 'r')"));
    private static readonly string s_huge = new('x', 300_000);

    // The largest filters the parser accepts must also run (SQLite has its own expression depth and variable limits).
    private static readonly string s_mostOrs = string.Join(" OR ", Enumerable.Range(0, Bastion.Visibility.Query.QueryLimits.MaxPredicates).Select(i => $"WorkflowId = 'w{i}'"));
    private static readonly string s_mostIn = "WorkflowId IN (" + string.Join(",", Enumerable.Range(0, Bastion.Visibility.Query.QueryLimits.MaxValues).Select(i => $"'{i}'")) + ")";
    private static readonly string s_mostNested = new string('(', Bastion.Visibility.Query.QueryLimits.MaxNesting) + "WorkflowId = 'x' OR StartTime > '2020-01-01T00:00:00Z'" + new string(')', Bastion.Visibility.Query.QueryLimits.MaxNesting);

    private sealed record Mutation(FieldSite Site, object Value, string Label)
    {
        public override string ToString() => $"{Site.Name} = {Label}";
    }

    private sealed record Finding(string Method, string Mutation, int Status, string Message);

    [Fact]
    public async Task EveryUnaryMethod_ExtremeValues_NeverInternalOrUnknown_AndTheServerStaysUp()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var baseUri = $"http://{fixture.Server.Address}";
        var methods = GrpcServiceDescriptors.All.SelectMany(s => s.Methods)
            .Where(m => !m.IsClientStreaming && !m.IsServerStreaming)
            .OrderBy(m => m.Name.StartsWith("Delete", StringComparison.Ordinal) || m.Name.StartsWith("Deprecate", StringComparison.Ordinal)) // last: they end what the rest use
            .ThenBy(m => m.Name, StringComparer.Ordinal)
            .ToList();

        var calls = methods.SelectMany(m => MutationsOf(m).Select(x => (Method: m, Mutation: x))).ToList();
        var findings = new System.Collections.Concurrent.ConcurrentBag<Finding>();
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var counter = 0;
        await Parallel.ForEachAsync(calls, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (call, _) =>
        {
            var request = BaseRequest(call.Method.InputType, Interlocked.Increment(ref counter));
            if (call.Mutation is { } mutation)
            {
                RequestSites.Set(request, mutation.Site, mutation.Value);
            }

            var headers = new Dictionary<string, string> { ["grpc-timeout"] = s_waiting.Contains(call.Method.Name) ? "1500m" : "20S" };
            var (status, message) = await RawGrpc.CallAsync(http, baseUri, GrpcServiceDescriptors.PathOf(call.Method)[1..], request, headers);
            statuses.AddOrUpdate($"{(Grpc.Core.StatusCode)status} {call.Mutation?.Label}", 1, (_, n) => n + 1);
            if (status is (int)Grpc.Core.StatusCode.Internal or (int)Grpc.Core.StatusCode.Unknown)
            {
                findings.Add(new Finding(call.Method.Name, call.Mutation?.ToString() ?? "(base request)", status, message));
            }
        });

        foreach (var (key, count) in statuses.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{count,6} {key}");
        }

        output.WriteLine($"{calls.Count} calls, {s_perMethod} mutations per method at most, seed {s_seed}");
        foreach (var finding in findings)
        {
            output.WriteLine($"FINDING {finding.Method} {finding.Mutation}: {finding.Status} {finding.Message}");
        }

        Assert.True(calls.Count > 1000, $"only {calls.Count} calls");
        Assert.Empty(findings.OrderBy(f => f.Method, StringComparer.Ordinal).Select(f => $"{f.Method} {f.Mutation}: {f.Status} {f.Message}").Take(40));

        var (after, text) = await RawGrpc.CallAsync(http, baseUri, "temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo", new GetSystemInfoRequest());
        Assert.True(after == 0, $"GetSystemInfo after the fuzz: {after} {text}");
        (after, text) = await RawGrpc.CallAsync(http, baseUri, "temporal.api.workflowservice.v1.WorkflowService/RegisterNamespace", new RegisterNamespaceRequest
        {
            Namespace = "after-fuzz",
            WorkflowExecutionRetentionPeriod = Duration.FromTimeSpan(TimeSpan.FromDays(1)),
        });
        Assert.True(after == 0, $"RegisterNamespace after the fuzz: {after} {text}");
    }

    [Fact]
    public async Task Start_WithTimeoutsBeyond49Days_Succeeds_AndDurationsBeyond100YearsAreCapped()
    {
        // A timer of more than 2^32 ms once failed the call after the start had committed.
        using var http = new HttpClient();
        var id = "long-timeouts-" + Guid.NewGuid().ToString("N");
        var (status, message) = await RawGrpc.CallAsync(http, $"http://{fixture.Server.Address}", "temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution", new StartWorkflowExecutionRequest
        {
            Namespace = FuzzServerFixture.Steady,
            WorkflowId = id,
            WorkflowType = new() { Name = "Long" },
            TaskQueue = new() { Name = "long" },
            RequestId = Guid.NewGuid().ToString(),
            WorkflowRunTimeout = Duration.FromTimeSpan(TimeSpan.FromDays(60)),
            WorkflowExecutionTimeout = new Duration { Seconds = MaxDurationSeconds },
        });
        Assert.True(status == 0, $"{status} {message}");

        var client = await TemporalClient.ConnectAsync(new(fixture.Server.Address) { Namespace = FuzzServerFixture.Steady });
        var described = await client.WorkflowService.DescribeWorkflowExecutionAsync(new() { Namespace = FuzzServerFixture.Steady, Execution = new() { WorkflowId = id } });
        Assert.Equal(TimeSpan.FromDays(60), described.ExecutionConfig.WorkflowRunTimeout.ToTimeSpan());
        Assert.Equal(TimeSpan.FromDays(36_500), described.ExecutionConfig.WorkflowExecutionTimeout.ToTimeSpan());
    }

    [Fact]
    public async Task WorkerCommandsAndSchedules_WithExtremeValues_NeverInternal()
    {
        const string ns = FuzzServerFixture.Steady;
        var ages = new Duration { Seconds = MaxDurationSeconds };
        var first = new Timestamp { Seconds = MinTimestampSeconds };
        var last = new Timestamp { Seconds = MaxTimestampSeconds, Nanos = 999_999_999 };
        var client = await TemporalClient.ConnectAsync(new(fixture.Server.Address) { Namespace = ns });
        var raw = new RawDriver(client, ns);
        var answers = new List<(string Call, Grpc.Core.StatusCode? Status, string Message)>();
        async Task Try(string call, Func<Task> body)
        {
            try
            {
                await body();
                answers.Add((call, null, string.Empty));
            }
            catch (Grpc.Core.RpcException e)
            {
                answers.Add((call, e.StatusCode, e.Status.Detail));
            }
            catch (Temporalio.Exceptions.RpcException e)
            {
                answers.Add((call, (Grpc.Core.StatusCode)e.Code, e.Message));
            }
        }

        // A worker asks for a 10 000-year timer and an activity whose every timeout and retry interval is 10 000 years.
        var tq = "extreme-" + Guid.NewGuid().ToString("N");
        var id = "extreme-" + Guid.NewGuid().ToString("N");
        await raw.StartAsync(id, tq);
        var task = await raw.PollWorkflowTaskAsync(tq);
        var activity = RawDriver.ScheduleActivity("a1", "Work", tq);
        var attributes = activity.ScheduleActivityTaskCommandAttributes;
        attributes.StartToCloseTimeout = ages;
        attributes.ScheduleToCloseTimeout = ages;
        attributes.ScheduleToStartTimeout = ages;
        attributes.HeartbeatTimeout = ages;
        attributes.RetryPolicy = new() { InitialInterval = ages, BackoffCoefficient = double.MaxValue };
        var timer = new Temporalio.Api.Command.V1.Command
        {
            CommandType = Temporalio.Api.Enums.V1.CommandType.StartTimer,
            StartTimerCommandAttributes = new() { TimerId = "t1", StartToFireTimeout = ages },
        };
        await Try("RespondWorkflowTaskCompleted", () => raw.CompleteAsync(task, timer, activity));
        var activityTask = await raw.PollActivityTaskAsync(tq);
        await Try("RecordActivityTaskHeartbeat", () => raw.Service.RecordActivityTaskHeartbeatAsync(new() { Namespace = ns, TaskToken = activityTask.TaskToken }));
        await Try("RespondActivityTaskFailed", () => raw.Service.RespondActivityTaskFailedAsync(new()
        {
            Namespace = ns,
            TaskToken = activityTask.TaskToken,
            Failure = new() { Message = "again", ApplicationFailureInfo = new() { NextRetryDelay = ages } },
        }));
        await Try("DescribeWorkflowExecution", () => raw.Service.DescribeWorkflowExecutionAsync(new() { Namespace = ns, Execution = new() { WorkflowId = id } }));

        // Schedules spanning all of time, with intervals, jitter and catch-up windows of 10 000 years.
        var scheduleId = "extreme-" + Guid.NewGuid().ToString("N");
        var schedule = new Temporalio.Api.Schedule.V1.Schedule
        {
            Spec = new()
            {
                Interval = { new Temporalio.Api.Schedule.V1.IntervalSpec { Interval = ages, Phase = new Duration { Seconds = DurationCapSeconds - 1 } } },
                StartTime = first,
                EndTime = last,
                Jitter = ages,
            },
            Action = new()
            {
                StartWorkflow = new()
                {
                    WorkflowId = "from-schedule",
                    WorkflowType = new() { Name = "W" },
                    TaskQueue = new() { Name = tq },
                    WorkflowExecutionTimeout = ages,
                },
            },
            Policies = new() { CatchupWindow = ages },
        };
        await Try("CreateSchedule", () => raw.Service.CreateScheduleAsync(new() { Namespace = ns, ScheduleId = scheduleId, Schedule = schedule, RequestId = Guid.NewGuid().ToString() }));
        await Try("ListScheduleMatchingTimes", () => raw.Service.ListScheduleMatchingTimesAsync(new() { Namespace = ns, ScheduleId = scheduleId, StartTime = first, EndTime = last }));
        await Try("PatchSchedule", () => raw.Service.PatchScheduleAsync(new()
        {
            Namespace = ns,
            ScheduleId = scheduleId,
            Patch = new() { BackfillRequest = { new Temporalio.Api.Schedule.V1.BackfillRequest { StartTime = first, EndTime = last } } },
        }));
        await Try("DescribeSchedule", () => raw.Service.DescribeScheduleAsync(new() { Namespace = ns, ScheduleId = scheduleId }));
        schedule.Spec.Interval.Clear();
        schedule.Spec.CronString.Add("0 0 29 2 *");
        await Try("UpdateSchedule", () => raw.Service.UpdateScheduleAsync(new() { Namespace = ns, ScheduleId = scheduleId, Schedule = schedule, RequestId = Guid.NewGuid().ToString() }));
        await Try("ListScheduleMatchingTimes (cron)", () => raw.Service.ListScheduleMatchingTimesAsync(new() { Namespace = ns, ScheduleId = scheduleId, StartTime = first, EndTime = last }));

        output.WriteLine(string.Join(Environment.NewLine, answers.Select(a => $"{a.Call}: {a.Status?.ToString() ?? "OK"} {a.Message}")));
        Assert.DoesNotContain(answers, a => a.Status is Grpc.Core.StatusCode.Internal or Grpc.Core.StatusCode.Unknown);
    }

    [Fact]
    public async Task Batch_WithAVanishingRate_RunsInsteadOfOverflowing()
    {
        const string ns = FuzzServerFixture.Steady;
        var client = await TemporalClient.ConnectAsync(new(fixture.Server.Address) { Namespace = ns });
        var ids = await BatchOperationTests.StartIdleAsync(client.WorkflowService, ns, "SlowBatch", 1);
        var jobId = "slow-" + Guid.NewGuid().ToString("N");
        await client.WorkflowService.StartBatchOperationAsync(new()
        {
            Namespace = ns,
            JobId = jobId,
            Reason = "fuzz",
            TargetExecutions = { new Temporalio.Api.Common.V1.Execution { Type = Temporalio.Api.Enums.V1.ExecutionType.Workflow, BusinessId = ids[0] } },
            TerminationOperation = new() { Identity = "fuzz" },
            MaxOperationsPerSecond = 1e-30f,
        });

        var done = await BatchOperationTests.WaitDoneAsync(client.WorkflowService, ns, jobId);
        Assert.Equal(Temporalio.Api.Enums.V1.BatchOperationState.Completed, done.State);
        Assert.Equal(1, done.CompleteOperationCount);
    }

    [Fact]
    public async Task HttpApi_UndefinedEnum_IsInvalidArgumentNamingTheField()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{fixture.Server.HttpAddress}") };
        using var content = new StringContent(
            """{"workflowType":{"name":"W"},"taskQueue":{"name":"tq"},"workflowIdReusePolicy":9999}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri($"/api/v1/namespaces/{FuzzServerFixture.Steady}/workflows/http-enum-{Guid.NewGuid():N}", UriKind.Relative), content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("workflow_id_reuse_policy: 9999 is not a value of temporal.api.enums.v1.WorkflowIdReusePolicy", body, StringComparison.Ordinal);
    }

    /// <summary>
    /// The base request plus up to <see cref="s_perMethod"/> mutations: times, durations, numbers and
    /// queries before enums before other strings, shallow before deep, then a fixed shuffle.
    /// </summary>
    private static IEnumerable<Mutation?> MutationsOf(MethodDescriptor method)
    {
        var random = new Random(method.FullName.Aggregate(17 + s_seed, (h, c) => unchecked((h * 31) + c)));
        return RequestSites.Walk(method.InputType, maxDepth: 4).SelectMany(ValuesFor)
            .Select(m => (Mutation: m, Shuffle: random.Next()))
            .OrderBy(m => m.Mutation.Site.IsEnum ? 1 : m.Mutation.Site.Leaf.FieldType == FieldType.String && m.Mutation.Site.Leaf.Name != "query" ? 2 : 0)
            .ThenBy(m => m.Mutation.Site.Path.Count)
            .ThenBy(m => m.Shuffle)
            .Take(s_perMethod)
            .Select(m => (Mutation?)m.Mutation)
            .Prepend(null);
    }

    private static IEnumerable<Mutation> ValuesFor(FieldSite site)
    {
        if (site.IsTimestamp)
        {
            yield return new(site, new Timestamp { Seconds = MaxTimestampSeconds + 1 }, "timestamp after 9999");
            yield return new(site, new Timestamp { Seconds = 0, Nanos = -1 }, "timestamp with negative nanos");
            yield return new(site, new Timestamp { Seconds = MaxTimestampSeconds, Nanos = 999_999_999 }, "timestamp 9999-12-31T23:59:59.999999999Z");
            yield return new(site, new Timestamp { Seconds = MinTimestampSeconds }, "timestamp 0001-01-01");
        }
        else if (site.IsDuration)
        {
            yield return new(site, new Duration { Seconds = long.MaxValue }, "duration 2^63-1 s");
            yield return new(site, new Duration { Seconds = MaxDurationSeconds, Nanos = 999_999_999 }, "duration 10000 years");
            yield return new(site, new Duration { Seconds = -MaxDurationSeconds }, "duration -10000 years");
        }
        else if (site.IsEnum)
        {
            yield return new(site, 9999, "enum 9999");
        }
        else if (site.Leaf.FieldType == FieldType.String)
        {
            if (site.Leaf.Name == "query")
            {
                yield return new(site, s_manyOrs, "query of 6000 ORs");
                yield return new(site, s_longIn, "query with 12000 IN values");
                yield return new(site, s_deepParens, "query nested 200000 deep");
                yield return new(site, s_deepAnds, "query of 3000 ANDed groups");
                yield return new(site, s_mostOrs, "query of the most ORs allowed");
                yield return new(site, s_mostIn, "query with the most IN values allowed");
                yield return new(site, s_mostNested, "query nested as deep as allowed");
            }
            else
            {
                yield return new(site, s_huge, "string of 300000 characters");
            }
        }
        else if (site.Leaf.FieldType is FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32)
        {
            yield return new(site, int.MaxValue, "int32 max");
            yield return new(site, int.MinValue, "int32 min");
        }
        else if (site.Leaf.FieldType is FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64)
        {
            yield return new(site, long.MaxValue, "int64 max");
            yield return new(site, long.MinValue, "int64 min");
        }
        else if (site.Leaf.FieldType is FieldType.UInt32 or FieldType.Fixed32)
        {
            yield return new(site, uint.MaxValue, "uint32 max");
        }
        else if (site.Leaf.FieldType is FieldType.UInt64 or FieldType.Fixed64)
        {
            yield return new(site, ulong.MaxValue, "uint64 max");
        }
        else if (site.Leaf.FieldType is FieldType.Double)
        {
            yield return new(site, double.NaN, "double NaN");
            yield return new(site, double.MaxValue, "double max");
            yield return new(site, double.NegativeInfinity, "double -inf");
        }
        else if (site.Leaf.FieldType is FieldType.Float)
        {
            yield return new(site, float.PositiveInfinity, "float inf");
        }
    }

    /// <summary>
    /// A request that gets past the first checks of most handlers: namespace, ids, names and request id filled in, so
    /// the mutation reaches the code that uses it.
    /// </summary>
    private static IMessage BaseRequest(MessageDescriptor type, int serial)
    {
        var request = RequestSites.New(type);
        Fill(request, serial, depth: 0);
        return request;
    }

    private static void Fill(IMessage message, int serial, int depth)
    {
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            if (field.IsRepeated || field.ContainingOneof != null)
            {
                continue;
            }

            if (field.FieldType == FieldType.String && ValueFor(field.Name, serial) is { } value)
            {
                field.Accessor.SetValue(message, value);
            }
            else if (field.FieldType == FieldType.Message && depth < 1
                && field.MessageType.Name is "WorkflowExecution" or "WorkflowType" or "TaskQueue" or "ActivityType")
            {
                var inner = RequestSites.New(field.MessageType);
                Fill(inner, serial, depth + 1);
                field.Accessor.SetValue(message, inner);
            }
        }
    }

    private static string? ValueFor(string field, int serial) => field switch
    {
        "namespace" => "default",
        "request_id" => Guid.NewGuid().ToString(),
        "workflow_id" or "activity_id" or "schedule_id" or "job_id" or "update_id" => string.Create(CultureInfo.InvariantCulture, $"fuzz-{serial}"),
        "name" => "fuzz",
        "identity" => "fuzz-test",
        _ => null,
    };
}
