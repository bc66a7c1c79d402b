using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Pipeline;
using Bastion.Security.RateLimits;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Security.RateLimits;

/// <summary>
/// The rate-limit stage on a clock the test moves: request and action buckets with their burst, refusals naming the
/// limit, worker reports charged into debt but never refused, provisioned capacity, a cluster's share, open polls.
/// </summary>
public sealed class NamespaceRateLimiterTests
{
    private readonly SteppedClock _time = new();
    private readonly PipelineOptions _options = new() { NamespaceRequestsPerSecond = 1000, NamespaceActionsPerSecond = 5, BurstRatio = 2 };

    private static NamespaceEntry Namespace(double? units = null) =>
        new() { Id = "ns-1", Name = "orders", Account = "acme", ProvisionedCapacity = units };

    private static StartWorkflowExecutionRequest Start => new() { Namespace = "orders.acme" };

    [Fact]
    public void Actions_AreAdmittedUpToTheBurst_ThenRefusedWithTheApsCause_AndRefilledAtTheRate()
    {
        var limiter = new NamespaceRateLimiter(_options, _time);
        var ns = Namespace();
        for (var i = 0; i < 10; i++)
        {
            limiter.Admit(ns, "StartWorkflowExecution", Start); // burst: 2 s of 5 actions per second
        }

        var refused = Assert.Throws<ServiceException>(() => limiter.Admit(ns, "StartWorkflowExecution", Start));
        Assert.Equal(ErrorKind.ResourceExhausted, refused.Kind);
        Assert.StartsWith("namespace actions per second limit exceeded: namespace orders.acme is over its limit of 5 actions per second", refused.Message, StringComparison.Ordinal);
        var failure = Assert.IsType<ResourceExhaustedFailure>(refused.Detail);
        Assert.Equal(ResourceExhaustedCause.ApsLimit, failure.Cause);
        Assert.Equal(ResourceExhaustedScope.Namespace, failure.Scope);

        limiter.Admit(ns, "DescribeWorkflowExecution", new DescribeWorkflowExecutionRequest()); // no action: admitted
        _time.Advance(TimeSpan.FromMilliseconds(200)); // one action's worth
        limiter.Admit(ns, "StartWorkflowExecution", Start);
        Assert.Throws<ServiceException>(() => limiter.Admit(ns, "StartWorkflowExecution", Start));
    }

    [Fact]
    public void Requests_AreRefusedWithTheRpsCause()
    {
        var limiter = new NamespaceRateLimiter(new PipelineOptions { NamespaceRequestsPerSecond = 2, BurstRatio = 1 }, _time);
        var ns = Namespace();
        limiter.Admit(ns, "DescribeNamespace", new DescribeNamespaceRequest());
        limiter.Admit(ns, "DescribeNamespace", new DescribeNamespaceRequest());
        var refused = Assert.Throws<ServiceException>(() => limiter.Admit(ns, "DescribeNamespace", new DescribeNamespaceRequest()));
        Assert.StartsWith("namespace rate limit exceeded", refused.Message, StringComparison.Ordinal);
        Assert.Equal(ResourceExhaustedCause.RpsLimit, Assert.IsType<ResourceExhaustedFailure>(refused.Detail).Cause);
    }

    [Fact]
    public void WorkerReports_AreChargedButNeverRefused_AndTheDebtHoldsBackTheNextStart()
    {
        var limiter = new NamespaceRateLimiter(_options, _time);
        var ns = Namespace();
        var completion = new RespondWorkflowTaskCompletedRequest();
        for (var i = 0; i < 4; i++)
        {
            completion.Commands.Add(new Command { CommandType = CommandType.StartTimer });
        }

        completion.Commands.Add(new Command { CommandType = CommandType.CompleteWorkflowExecution }); // not an action
        for (var i = 0; i < 5; i++)
        {
            limiter.Admit(ns, "RespondWorkflowTaskCompleted", completion); // 20 actions against a burst of 10: never refused
        }

        _time.Advance(TimeSpan.FromSeconds(2)); // repays 10 of the debt (floored at one burst below zero), not enough to start
        Assert.Throws<ServiceException>(() => limiter.Admit(ns, "StartWorkflowExecution", Start));
        _time.Advance(TimeSpan.FromSeconds(2.2));
        limiter.Admit(ns, "StartWorkflowExecution", Start);
    }

    [Fact]
    public void ActivityTasksHandedOut_AreCharged()
    {
        var limiter = new NamespaceRateLimiter(_options, _time);
        var ns = Namespace();
        for (var i = 0; i < 10; i++)
        {
            limiter.Charge(ns, new PollActivityTaskQueueResponse { TaskToken = Google.Protobuf.ByteString.CopyFromUtf8("t") });
        }

        limiter.Charge(ns, new PollActivityTaskQueueResponse()); // an empty poll: nothing handed out
        Assert.Throws<ServiceException>(() => limiter.Admit(ns, "SignalWorkflowExecution", new SignalWorkflowExecutionRequest()));
        _time.Advance(TimeSpan.FromSeconds(1));
        var (mean, p90, p99) = limiter.ActionsPerSecond(ns);
        Assert.Equal(10, mean);
        Assert.Equal(10, p90);
        Assert.Equal(10, p99);
    }

    [Fact]
    public void ProvisionedCapacity_ReplacesTheDefaults_AndAClusterSharesIt()
    {
        var options = new PipelineOptions { NamespaceActionsPerSecond = 1, BurstRatio = 1, Nodes = () => 2 };
        var limiter = new NamespaceRateLimiter(options, _time);
        var ns = Namespace(units: 0.2); // 20 actions per second, 10 on each of 2 nodes
        for (var i = 0; i < 10; i++)
        {
            limiter.Admit(ns, "StartWorkflowExecution", Start);
        }

        var refused = Assert.Throws<ServiceException>(() => limiter.Admit(ns, "StartWorkflowExecution", Start));
        Assert.Contains("over its limit of 10 actions per second", refused.Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(10));
        var onDemand = ns with { ProvisionedCapacity = null };
        limiter.Admit(onDemand, "StartWorkflowExecution", Start); // back to the default: 1 per second on 2 nodes, burst 1
        Assert.Contains("over its limit of 0.5 actions per second", Assert.Throws<ServiceException>(() => limiter.Admit(onDemand, "StartWorkflowExecution", Start)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SignalWithStart_CostsTwo_AndAFullSmallBucketStillPaysIt()
    {
        var limiter = new NamespaceRateLimiter(new PipelineOptions { NamespaceActionsPerSecond = 1, BurstRatio = 1 }, _time);
        var ns = Namespace();
        limiter.Admit(ns, "SignalWithStartWorkflowExecution", new SignalWithStartWorkflowExecutionRequest()); // burst 1 < cost 2: paid into debt
        _time.Advance(TimeSpan.FromSeconds(1)); // back to zero, not full
        Assert.Throws<ServiceException>(() => limiter.Admit(ns, "SignalWorkflowExecution", new SignalWorkflowExecutionRequest()));
    }

    [Fact]
    public void TaskQueuePolls_AreCountedWhileOpen()
    {
        var limiter = new NamespaceRateLimiter(new PipelineOptions { NamespaceConcurrentLongPolls = 2 }, _time);
        var ns = Namespace();
        using var first = limiter.Admit(ns, "PollWorkflowTaskQueue", new PollWorkflowTaskQueueRequest());
        var second = limiter.Admit(ns, "PollActivityTaskQueue", new PollActivityTaskQueueRequest());
        Assert.NotNull(second);
        var refused = Assert.Throws<ServiceException>(() => limiter.Admit(ns, "PollNexusTaskQueue", new PollNexusTaskQueueRequest()));
        Assert.Equal(ResourceExhaustedCause.ConcurrentLimit, Assert.IsType<ResourceExhaustedFailure>(refused.Detail).Cause);
        Assert.Null(limiter.Admit(ns, "DescribeTaskQueue", new DescribeTaskQueueRequest())); // not a poll: not counted
        second.Dispose();
        second.Dispose(); // twice is once
        using var third = limiter.Admit(ns, "PollActivityTaskQueue", new PollActivityTaskQueueRequest());
        Assert.Throws<ServiceException>(() => limiter.Admit(ns, "PollActivityTaskQueue", new PollActivityTaskQueueRequest()));
    }

    [Fact]
    public void ActionRate_SummarisesTheLastHour()
    {
        var rate = new ActionRate(_time);
        for (var second = 0; second < 100; second++)
        {
            rate.Add(second < 90 ? 1 : 50);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var (mean, p90, p99) = rate.Summary();
        Assert.Equal(5.9, mean, 3);
        Assert.Equal(1, p90);
        Assert.Equal(50, p99);
        _time.Advance(TimeSpan.FromHours(2)); // all of it out of the window
        Assert.Equal((0.0, 0.0, 0.0), rate.Summary());
    }
}

/// <summary>A clock whose wall time and timestamps move only when the test says (the buckets read timestamps).</summary>
internal sealed class SteppedClock : TimeProvider
{
    private DateTimeOffset _now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow() => _now;

    public override long GetTimestamp() => _now.UtcTicks;

    public void Advance(TimeSpan by) => _now += by;
}
