using Temporalio.Api.Enums.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;
using ActivityAttribute = Temporalio.Activities.ActivityAttribute;

namespace Bastion.Tests.Integration;

/// <summary>
/// UpdateTaskQueueConfig (issue 21): Temporal's validation, the config shown by DescribeTaskQueue, the effective rate
/// limit (the API's over the workers'), enforced by matching on dispatch; ListTaskQueuePartitions.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class TaskQueueConfigTests(ServerFixture fixture)
{
    private Temporalio.Client.WorkflowService Service => fixture.Client.WorkflowService;

    internal static UpdateTaskQueueConfigRequest Limit(string queue, float? rate, TaskQueueType type = TaskQueueType.Activity, string reason = "") => new()
    {
        Namespace = "default",
        Identity = "operator",
        TaskQueue = queue,
        TaskQueueType = type,
        UpdateQueueRateLimit = new UpdateTaskQueueConfigRequest.Types.RateLimitUpdate
        {
            RateLimit = rate is { } r ? new RateLimit { RequestsPerSecond = r } : null,
            Reason = reason,
        },
    };

    internal static Task<DescribeTaskQueueResponse> DescribeAsync(Temporalio.Client.WorkflowService service, string queue) =>
        service.DescribeTaskQueueAsync(new DescribeTaskQueueRequest
        {
            Namespace = "default",
            TaskQueue = new TaskQueue { Name = queue },
            TaskQueueType = TaskQueueType.Activity,
            ReportConfig = true,
        });

    [Fact]
    public async Task ARateLimit_IsStored_Described_AndRemoved()
    {
        var queue = ServerFixture.NewTaskQueue();
        var set = await Service.UpdateTaskQueueConfigAsync(Limit(queue, 5, reason: "protect the API"));
        Assert.Equal(5, set.Config.QueueRateLimit.RateLimit.RequestsPerSecond);
        Assert.Equal(("protect the API", "operator"), (set.Config.QueueRateLimit.Metadata.Reason, set.Config.QueueRateLimit.Metadata.UpdateIdentity));
        Assert.NotNull(set.Config.QueueRateLimit.Metadata.UpdateTime);

        var described = await DescribeAsync(Service, queue);
        Assert.Equal(5, described.Config.QueueRateLimit.RateLimit.RequestsPerSecond);
        Assert.Equal((5f, RateLimitSource.Api), (described.EffectiveRateLimit.RequestsPerSecond, described.EffectiveRateLimit.RateLimitSource));

        // The fairness settings are kept alongside (matching has no fairness keys to apply them to).
        var fairness = new UpdateTaskQueueConfigRequest
        {
            Namespace = "default",
            TaskQueue = queue,
            TaskQueueType = TaskQueueType.Activity,
            UpdateFairnessKeyRateLimitDefault = new() { RateLimit = new RateLimit { RequestsPerSecond = 1 } },
        };
        fairness.SetFairnessWeightOverrides.Add("tenant-a", 2.5f);
        var both = await Service.UpdateTaskQueueConfigAsync(fairness);
        Assert.Equal((5f, 1f, 2.5f), (both.Config.QueueRateLimit.RateLimit.RequestsPerSecond, both.Config.FairnessKeysRateLimitDefault.RateLimit.RequestsPerSecond, both.Config.FairnessWeightOverrides["tenant-a"]));

        var removed = await Service.UpdateTaskQueueConfigAsync(Limit(queue, null, reason: "done"));
        Assert.Null(removed.Config.QueueRateLimit.RateLimit);
        Assert.Equal("done", removed.Config.QueueRateLimit.Metadata.Reason);
        Assert.Null((await DescribeAsync(Service, queue)).EffectiveRateLimit);

        // Not asked for: no config in the answer.
        var plain = await Service.DescribeTaskQueueAsync(new DescribeTaskQueueRequest { Namespace = "default", TaskQueue = new TaskQueue { Name = queue }, TaskQueueType = TaskQueueType.Activity });
        Assert.Null(plain.Config);
    }

    [Theory]
    [InlineData("workflow-limit", "Setting rate limit on workflow task queues is not allowed.")]
    [InlineData("negative", "RequestsPerSecond for UpdateQueueRateLimit rate limit must be non-negative.")]
    [InlineData("no-type", "TaskQueueType must be set.")]
    [InlineData("no-queue", "TaskQueue is not set on request.")]
    [InlineData("long-reason", "UpdateQueueRateLimit.Reason field too long (max 1000 characters).")]
    [InlineData("fairness-both", "fairness weight override key \"k\" present in both set and unset lists")]
    [InlineData("fairness-weight", "invalid fairness weight weight for key \"k\": must be greater than zero")]
    public async Task BadUpdates_AreRefused_WithTemporalsTexts(string kind, string message)
    {
        var request = kind switch
        {
            "workflow-limit" => Limit("q", 1, TaskQueueType.Workflow),
            "negative" => Limit("q", -1),
            "no-type" => Limit("q", 1, TaskQueueType.Unspecified),
            "no-queue" => Limit(string.Empty, 1),
            "long-reason" => Limit("q", 1, reason: new string('r', 1001)),
            _ => Limit("q", 1),
        };
        if (kind == "fairness-both")
        {
            request.SetFairnessWeightOverrides.Add("k", 1);
            request.UnsetFairnessWeightOverrides.Add("k");
        }
        else if (kind == "fairness-weight")
        {
            request.SetFairnessWeightOverrides.Add("k", 0);
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => Service.UpdateTaskQueueConfigAsync(request));
        Assert.Equal((RpcException.StatusCode.InvalidArgument, message), (error.Code, error.Message));
    }

    [Fact]
    public async Task ListTaskQueuePartitions_NamesThePartitionsAndTheirNode()
    {
        var queue = ServerFixture.NewTaskQueue();
        var response = await Service.ListTaskQueuePartitionsAsync(new ListTaskQueuePartitionsRequest { Namespace = "default", TaskQueue = new TaskQueue { Name = queue } });
        foreach (var partitions in new[] { response.ActivityTaskQueuePartitions, response.WorkflowTaskQueuePartitions })
        {
            var root = Assert.Single(partitions); // a standalone server matches each queue on one partition
            Assert.Equal(queue, root.Key);
            Assert.Equal(fixture.Server.Engine.Routing.Self, root.OwnerHostName);
        }

        var bad = await Assert.ThrowsAsync<RpcException>(() => Service.ListTaskQueuePartitionsAsync(new ListTaskQueuePartitionsRequest { Namespace = "default" }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, bad.Code);
    }

    public sealed class Activities
    {
        [Activity]
        public static string Echo(string value) => value;
    }

    [Workflow]
    public sealed class OneActivityWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync() =>
            Workflow.ExecuteActivityAsync(() => Activities.Echo("done"), new ActivityOptions { StartToCloseTimeout = TimeSpan.FromMinutes(1) });
    }

    [Fact]
    public async Task MatchingHoldsTasksOfAQueueLimitedToZero_AndDispatchesThemWhenTheLimitIsLifted()
    {
        var queue = ServerFixture.NewTaskQueue();
        await Service.UpdateTaskQueueConfigAsync(Limit(queue, 0, reason: "paused"));
        using var worker = new TemporalWorker(fixture.Client, new TemporalWorkerOptions(queue).AddWorkflow<OneActivityWorkflow>().AddActivity(Activities.Echo));
        await worker.ExecuteAsync(async () =>
        {
            var handle = await fixture.Client.StartWorkflowAsync((OneActivityWorkflow wf) => wf.RunAsync(), new("limited-" + Guid.NewGuid(), queue));

            // The activity task waits in matching while the worker polls the queue: the limit holds it back.
            var namespaceId = (await Service.DescribeNamespaceAsync(new DescribeNamespaceRequest { Namespace = "default" })).NamespaceInfo.Id;
            var activityQueue = new Bastion.Engine.Matching.QueueKey(namespaceId, queue, Bastion.Engine.Matching.TaskCategory.Activity);
            Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(fixture.Server.Engine.Matching.BacklogCount(activityQueue) == 1)));
            var pending = Assert.Single((await Service.DescribeWorkflowExecutionAsync(new() { Namespace = "default", Execution = new() { WorkflowId = handle.Id } })).PendingActivities);
            Assert.Equal(PendingActivityState.Scheduled, pending.State);

            await Service.UpdateTaskQueueConfigAsync(Limit(queue, null));
            Assert.Equal("done", await handle.GetResultAsync<string>().WaitAsync(TimeSpan.FromSeconds(60)));
        }).WaitAsync(TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task AWorkersActivitiesPerSecond_IsTheEffectiveLimit_UnlessTheApiSetsOne()
    {
        var queue = ServerFixture.NewTaskQueue();
        var options = new TemporalWorkerOptions(queue) { MaxTaskQueueActivitiesPerSecond = 7 }.AddActivity(Activities.Echo);
        using var worker = new TemporalWorker(fixture.Client, options);
        await worker.ExecuteAsync(async () =>
        {
            Assert.True(await Eventually.HoldsAsync(async () => (await DescribeAsync(Service, queue)).EffectiveRateLimit is { RateLimitSource: RateLimitSource.Worker }));
            Assert.Equal(7f, (await DescribeAsync(Service, queue)).EffectiveRateLimit.RequestsPerSecond);

            await Service.UpdateTaskQueueConfigAsync(Limit(queue, 3));
            var described = await DescribeAsync(Service, queue);
            Assert.Equal((3f, RateLimitSource.Api), (described.EffectiveRateLimit.RequestsPerSecond, described.EffectiveRateLimit.RateLimitSource));
        }).WaitAsync(TimeSpan.FromSeconds(90));
    }
}
