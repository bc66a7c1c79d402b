using Temporalio.Api.Enums.V1;
using Temporalio.Exceptions;
using Temporalio.Workflows;
using ParentClosePolicy = Temporalio.Workflows.ParentClosePolicy;

namespace Bastion.Tests.Integration;

[Collection(ServerCollection.Name)]
public sealed class ChildWorkflowTests(ServerFixture fixture)
{
    [Workflow]
    public sealed class ChildWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string mode)
        {
            switch (mode)
            {
                case "fail":
                    throw new ApplicationFailureException("child broke", errorType: "ChildError", nonRetryable: true);
                case "wait":
                    await Workflow.WaitConditionAsync(() => false);
                    return "never";
                default:
                    return "child says " + mode;
            }
        }
    }

    [Workflow]
    public sealed class ParentWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string scenario, string childId)
        {
            switch (scenario)
            {
                case "complete":
                    return await Workflow.ExecuteChildWorkflowAsync((ChildWorkflow c) => c.RunAsync("hi"), new() { Id = childId });
                case "fail":
                    try
                    {
                        await Workflow.ExecuteChildWorkflowAsync((ChildWorkflow c) => c.RunAsync("fail"), new() { Id = childId });
                        return "no failure";
                    }
                    catch (ChildWorkflowFailureException e) when (e.InnerException is ApplicationFailureException app)
                    {
                        return $"caught {app.ErrorType}: {app.Message}";
                    }

                case "conflict":
                    try
                    {
                        await Workflow.StartChildWorkflowAsync((ChildWorkflow c) => c.RunAsync("x"), new() { Id = childId });
                        return "started";
                    }
                    catch (WorkflowAlreadyStartedException)
                    {
                        return "already started";
                    }

                default:
                    var policy = Enum.Parse<ParentClosePolicy>(scenario);
                    await Workflow.StartChildWorkflowAsync((ChildWorkflow c) => c.RunAsync("wait"), new() { Id = childId, ParentClosePolicy = policy });
                    return "parent done";
            }
        }
    }

    [Workflow]
    public sealed class ChainChild
    {
        [WorkflowRun]
        public Task<int> RunAsync(int n) =>
            n < 2 ? throw Workflow.CreateContinueAsNewException((ChainChild c) => c.RunAsync(n + 1)) : Task.FromResult(n * 10);
    }

    [Workflow]
    public sealed class ChainParent
    {
        [WorkflowRun]
        public Task<int> RunAsync() => Workflow.ExecuteChildWorkflowAsync((ChainChild c) => c.RunAsync(0));
    }

    private Task RunAsync(Func<string, Task> body) =>
        fixture.WithWorkerAsync(o => o.AddWorkflow<ParentWorkflow>().AddWorkflow<ChildWorkflow>().AddWorkflow<ChainParent>().AddWorkflow<ChainChild>(), body);

    [Fact]
    public async Task ChildThatContinuesAsNew_ReportsItsLastRunsResultToTheParent()
    {
        await RunAsync(async tq =>
            Assert.Equal(20, await fixture.Client.ExecuteWorkflowAsync((ChainParent p) => p.RunAsync(), new("chain-parent-" + Guid.NewGuid(), tq))));
    }

    [Fact]
    public async Task Child_Completes_AndTheParentGetsItsResult_WithWellFormedEvents()
    {
        await RunAsync(async tq =>
        {
            var childId = "child-" + Guid.NewGuid();
            var parent = await fixture.Client.StartWorkflowAsync((ParentWorkflow p) => p.RunAsync("complete", childId), new("parent-" + Guid.NewGuid(), tq));
            Assert.Equal("child says hi", await parent.GetResultAsync());

            var events = (await parent.FetchHistoryAsync()).Events.ToList();
            var initiated = events.Single(e => e.EventType == EventType.StartChildWorkflowExecutionInitiated);
            var started = events.Single(e => e.EventType == EventType.ChildWorkflowExecutionStarted);
            var completed = events.Single(e => e.EventType == EventType.ChildWorkflowExecutionCompleted).ChildWorkflowExecutionCompletedEventAttributes;
            Assert.Equal(initiated.EventId, completed.InitiatedEventId);
            Assert.Equal(started.EventId, completed.StartedEventId);

            var child = await fixture.Client.GetWorkflowHandle(childId).DescribeAsync();
            Assert.Equal(parent.Id, child.ParentId);
            Assert.Equal(parent.ResultRunId, child.ParentRunId);
        });
    }

    [Fact]
    public async Task ChildFailure_ReachesTheParentAsAChildWorkflowFailure()
    {
        await RunAsync(async tq =>
        {
            var result = await fixture.Client.ExecuteWorkflowAsync((ParentWorkflow p) => p.RunAsync("fail", "child-" + Guid.NewGuid()), new("parent-" + Guid.NewGuid(), tq));
            Assert.Equal("caught ChildError: child broke", result);
        });
    }

    [Fact]
    public async Task ChildIdAlreadyRunning_FailsTheChildStart_InTheParent()
    {
        await RunAsync(async tq =>
        {
            var childId = "taken-" + Guid.NewGuid();
            var squatter = await fixture.Client.StartWorkflowAsync((ChildWorkflow c) => c.RunAsync("wait"), new(childId, tq));
            var result = await fixture.Client.ExecuteWorkflowAsync((ParentWorkflow p) => p.RunAsync("conflict", childId), new("parent-" + Guid.NewGuid(), tq));
            Assert.Equal("already started", result);
            await squatter.TerminateAsync("done");
        });
    }

    [Theory]
    [InlineData(ParentClosePolicy.Terminate, WorkflowExecutionStatus.Terminated)]
    [InlineData(ParentClosePolicy.RequestCancel, WorkflowExecutionStatus.Canceled)]
    [InlineData(ParentClosePolicy.Abandon, WorkflowExecutionStatus.Running)]
    public async Task ParentClosePolicy_IsAppliedToOpenChildren(ParentClosePolicy policy, WorkflowExecutionStatus expected)
    {
        await RunAsync(async tq =>
        {
            var childId = "orphan-" + Guid.NewGuid();
            var parent = await fixture.Client.StartWorkflowAsync((ParentWorkflow p) => p.RunAsync(policy.ToString(), childId), new("parent-" + Guid.NewGuid(), tq));
            Assert.Equal("parent done", await parent.GetResultAsync());
            var child = fixture.Client.GetWorkflowHandle(childId);
            var status = WorkflowExecutionStatus.Unspecified;
            for (var i = 0; i < 100 && status != expected; i++)
            {
                status = (await child.DescribeAsync()).Status;
                await Task.Delay(50);
            }

            Assert.Equal(expected, status);
            if (expected == WorkflowExecutionStatus.Running)
            {
                await child.TerminateAsync("cleanup");
            }
        });
    }
}
