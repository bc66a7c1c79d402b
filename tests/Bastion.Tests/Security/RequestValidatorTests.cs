using Bastion.Engine.Errors;
using Bastion.Security.Pipeline;
using Bastion.Wire;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Security;

/// <summary>
/// The boundary check of Timestamp, Duration and enum values, over every request type of every service (walked by
/// its descriptor): each out-of-range value anywhere in a request is INVALID_ARGUMENT naming its field path, and each
/// value in range passes.
/// </summary>
public sealed class RequestValidatorTests
{
    private const long MaxTimestampSeconds = 253_402_300_799;
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxDurationSeconds = 315_576_000_000;

    private static readonly object[] s_badTimestamps =
    [
        new Timestamp { Seconds = MaxTimestampSeconds + 1 },
        new Timestamp { Seconds = MinTimestampSeconds - 1 },
        new Timestamp { Seconds = long.MaxValue },
        new Timestamp { Seconds = 0, Nanos = -1 },
        new Timestamp { Seconds = 0, Nanos = 1_000_000_000 },
    ];

    private static readonly object[] s_badDurations =
    [
        new Duration { Seconds = long.MaxValue },
        new Duration { Seconds = -MaxDurationSeconds - 1 },
        new Duration { Seconds = 1, Nanos = -1 },
        new Duration { Seconds = -1, Nanos = 1 },
        new Duration { Nanos = 1_000_000_000 },
    ];

    private static IEnumerable<(string Method, FieldSite Site)> CheckedSites() =>
        GrpcServiceDescriptors.All.SelectMany(s => s.Methods)
            .SelectMany(m => RequestSites.Walk(m.InputType, maxDepth: 5)
                .Where(s => s.IsTimestamp || s.IsDuration || s.IsEnum)
                .Select(s => ($"{m.Service.Name}/{m.Name}", s)));

    [Fact]
    public void EveryRequestType_EveryOutOfRangeValue_IsInvalidArgumentNamingTheField()
    {
        var wrong = new List<string>();
        var checkedCases = 0;
        foreach (var (method, site) in CheckedSites())
        {
            var bad = site.IsTimestamp ? s_badTimestamps : site.IsDuration ? s_badDurations : [9999, -5];
            foreach (var value in bad)
            {
                checkedCases++;
                var request = RequestSites.New(site.Path[0].ContainingType);
                RequestSites.Set(request, site, value);
                var refused = Record.Exception(() => RequestValidator.Validate(request));
                if (refused is not ServiceException { Kind: ErrorKind.InvalidArgument } e || !e.Message.StartsWith(site.Name + (site.Leaf.IsRepeated ? "[0]: " : ": "), StringComparison.Ordinal))
                {
                    wrong.Add($"{method} {site.Name} = {value}: {refused?.Message ?? "accepted"}");
                }
            }
        }

        Assert.Empty(wrong.Take(20));
        Assert.True(checkedCases > 1000, $"only {checkedCases} cases");
    }

    [Fact]
    public void EveryRequestType_ExtremeValuesInRange_Pass()
    {
        var wrong = new List<string>();
        foreach (var (method, site) in CheckedSites())
        {
            object[] good = site.IsTimestamp
                ? [new Timestamp { Seconds = MaxTimestampSeconds, Nanos = 999_999_999 }, new Timestamp { Seconds = MinTimestampSeconds }]
                : site.IsDuration
                    ? [new Duration { Seconds = MaxDurationSeconds, Nanos = 999_999_999 }, new Duration { Seconds = -MaxDurationSeconds, Nanos = -999_999_999 }]
                    : site.Leaf.EnumType.Values.Select(v => (object)v.Number).ToArray();
            foreach (var value in good)
            {
                var request = RequestSites.New(site.Path[0].ContainingType);
                RequestSites.Set(request, site, value);
                if (Record.Exception(() => RequestValidator.Validate(request)) is { } e)
                {
                    wrong.Add($"{method} {site.Name} = {value}: {e.Message}");
                }
            }
        }

        Assert.Empty(wrong.Take(20));
    }

    [Fact]
    public void Message_NamesTheFieldPath_WithIndexes()
    {
        var request = new RespondWorkflowTaskCompletedRequest();
        request.Commands.Add(new Temporalio.Api.Command.V1.Command());
        request.Commands.Add(new Temporalio.Api.Command.V1.Command
        {
            StartTimerCommandAttributes = new() { TimerId = "t", StartToFireTimeout = new Duration { Seconds = 5, Nanos = -3 } },
        });

        var e = Assert.Throws<ServiceException>(() => RequestValidator.Validate(request));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.StartsWith("commands[1].start_timer_command_attributes.start_to_fire_timeout: duration out of range", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A non-finite float (here a task's fairness weight, in a command and in a start) is refused by name: it would reach the run's state.</summary>
    [Theory]
    [InlineData(float.PositiveInfinity, "Infinity")]
    [InlineData(float.NaN, "NaN")]
    public void ANonFiniteFloat_IsRefused_NamingTheField(float weight, string shown)
    {
        var start = new StartWorkflowExecutionRequest { Namespace = "default", Priority = new() { FairnessWeight = weight } };
        var e = Assert.Throws<ServiceException>(() => RequestValidator.Validate(start));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Equal($"priority.fairness_weight: {shown} is not a finite number", e.Message);

        var completion = new RespondWorkflowTaskCompletedRequest();
        completion.Commands.Add(new Temporalio.Api.Command.V1.Command
        {
            ScheduleActivityTaskCommandAttributes = new() { ActivityId = "a", Priority = new() { FairnessWeight = weight } },
        });
        Assert.StartsWith("commands[0].schedule_activity_task_command_attributes.priority.fairness_weight:", Assert.Throws<ServiceException>(() => RequestValidator.Validate(completion)).Message, StringComparison.Ordinal);

        RequestValidator.Validate(new StartWorkflowExecutionRequest { Namespace = "default", Priority = new() { FairnessWeight = 2.5f } });
    }

    [Fact]
    public void ListFilter_TimestampBeyondYear9999_IsRefused()
    {
        var request = new ListClosedWorkflowExecutionsRequest
        {
            Namespace = "default",
            StartTimeFilter = new() { EarliestTime = new Timestamp { Seconds = MaxTimestampSeconds + 1 } },
        };

        var e = Assert.Throws<ServiceException>(() => RequestValidator.Validate(request));
        Assert.StartsWith("start_time_filter.earliest_time: timestamp out of range", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DurationBeyond100Years_IsCappedTo100Years_AsTemporalDoes()
    {
        var request = new StartWorkflowExecutionRequest
        {
            WorkflowExecutionTimeout = new Duration { Seconds = MaxDurationSeconds, Nanos = 5 },
            WorkflowStartDelay = new Duration { Seconds = 3600 },
            RetryPolicy = new() { InitialInterval = new Duration { Seconds = -MaxDurationSeconds } },
        };

        RequestValidator.Validate(request);

        Assert.Equal(TimeSpan.FromDays(36_500), request.WorkflowExecutionTimeout.ToTimeSpan());
        Assert.Equal(TimeSpan.FromHours(1), request.WorkflowStartDelay.ToTimeSpan());
        Assert.Equal(TimeSpan.FromDays(-36_500), request.RetryPolicy.InitialInterval.ToTimeSpan());
    }

    [Fact]
    public void RequestWithoutCheckedFields_Passes()
    {
        RequestValidator.Validate(new GetSystemInfoRequest());
        RequestValidator.Validate(new DescribeNamespaceRequest { Namespace = "default" });
    }
}
