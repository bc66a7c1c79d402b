using Temporalio.Api.Enums.V1;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

[Collection(ServerCollection.Name)]
public sealed class ExternalAndPropertiesTests(ServerFixture fixture)
{
    private static readonly SearchAttributeKey<string> s_owner = SearchAttributeKey.CreateKeyword("Owner");

    [Workflow]
    public sealed class ReceiverWorkflow
    {
        private string? _got;

        [WorkflowRun]
        public async Task<string> RunAsync()
        {
            await Workflow.WaitConditionAsync(() => _got != null);
            return _got!;
        }

        [WorkflowSignal]
        public Task PokeAsync(string value)
        {
            _got = value;
            return Task.CompletedTask;
        }
    }

    [Workflow]
    public sealed class SenderWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string targetId)
        {
            try
            {
                await Workflow.GetExternalWorkflowHandle<ReceiverWorkflow>(targetId).SignalAsync(r => r.PokeAsync("from sender"));
                return "delivered";
            }
            catch (ApplicationFailureException e)
            {
                return "failed: " + e.Message;
            }
        }
    }

    [Workflow]
    public sealed class CancelChildWorkflow
    {
        [WorkflowRun]
        public async Task<string> RunAsync(string childId)
        {
            using var cts = new CancellationTokenSource();
            var child = await Workflow.StartChildWorkflowAsync((ReceiverWorkflow r) => r.RunAsync(), new() { Id = childId, CancellationToken = cts.Token });
            await Workflow.DelayAsync(TimeSpan.FromMilliseconds(200));
#pragma warning disable CA1849 // CancelAsync would run callbacks on the thread pool, outside the workflow scheduler.
            cts.Cancel();
#pragma warning restore CA1849
            try
            {
                await child.GetResultAsync();
                return "child completed";
            }
            catch (ChildWorkflowFailureException e) when (e.InnerException is CanceledFailureException)
            {
                return "child canceled";
            }
        }
    }

    [Workflow]
    public sealed class PropertiesWorkflow
    {
        [WorkflowRun]
        public async Task RunAsync()
        {
            Workflow.UpsertTypedSearchAttributes(s_owner.ValueSet("team-b"));
            Workflow.UpsertMemo(MemoUpdate.ValueSet("keep", "yes"), MemoUpdate.ValueUnset("drop"));
            await Workflow.WaitConditionAsync(() => false);
        }
    }

    private async Task RunAsync(Func<string, Task> body) => await fixture.WithWorkerAsync(
        o => o.AddWorkflow<ReceiverWorkflow>().AddWorkflow<SenderWorkflow>().AddWorkflow<CancelChildWorkflow>().AddWorkflow<PropertiesWorkflow>(),
        body);

    [Fact]
    public async Task SignalExternal_ReachesTheTarget_AndIsRecordedInTheSender()
    {
        await RunAsync(async tq =>
        {
            var receiver = await fixture.Client.StartWorkflowAsync((ReceiverWorkflow r) => r.RunAsync(), new("receiver-" + Guid.NewGuid(), tq));
            var sender = await fixture.Client.StartWorkflowAsync((SenderWorkflow s) => s.RunAsync(receiver.Id), new("sender-" + Guid.NewGuid(), tq));
            Assert.Equal("delivered", await sender.GetResultAsync());
            Assert.Equal("from sender", await receiver.GetResultAsync());
            Assert.Contains((await sender.FetchHistoryAsync()).Events, e => e.EventType == EventType.ExternalWorkflowExecutionSignaled);
        });
    }

    [Fact]
    public async Task SignalExternal_ToAMissingWorkflow_FailsInTheSender()
    {
        await RunAsync(async tq =>
        {
            var result = await fixture.Client.ExecuteWorkflowAsync((SenderWorkflow s) => s.RunAsync("nobody-" + Guid.NewGuid()), new("sender-" + Guid.NewGuid(), tq));
            Assert.StartsWith("failed", result, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task CancelingAChild_FromTheParent_CancelsIt()
    {
        await RunAsync(async tq =>
        {
            var childId = "cancel-child-" + Guid.NewGuid();
            var result = await fixture.Client.ExecuteWorkflowAsync((CancelChildWorkflow p) => p.RunAsync(childId), new("cancel-parent-" + Guid.NewGuid(), tq));
            Assert.Equal("child canceled", result);
            Assert.Equal(WorkflowExecutionStatus.Canceled, (await fixture.Client.GetWorkflowHandle(childId).DescribeAsync()).Status);
        });
    }

    [Fact]
    public async Task UpsertedSearchAttributesAndMemo_AreShownByDescribe_AndANullMemoValueDeletesTheKey()
    {
        await fixture.Client.Connection.OperatorService.AddSearchAttributesAsync(new()
        {
            Namespace = "default",
            SearchAttributes = { ["Owner"] = Temporalio.Api.Enums.V1.IndexedValueType.Keyword },
        });
        await RunAsync(async tq =>
        {
            var handle = await fixture.Client.StartWorkflowAsync(
                (PropertiesWorkflow p) => p.RunAsync(),
                new("props-" + Guid.NewGuid(), tq) { Memo = new Dictionary<string, object> { ["drop"] = "me" } });
            WorkflowExecutionDescription description;
            var tries = 0;
            do
            {
                await Task.Delay(50);
                description = await handle.DescribeAsync();
            }
            while (!description.Memo.ContainsKey("keep") && ++tries < 100);

            Assert.Equal("yes", await description.Memo["keep"].ToValueAsync<string>());
            Assert.False(description.Memo.ContainsKey("drop"));
            Assert.Equal("team-b", description.TypedSearchAttributes.Get(s_owner));
            await handle.TerminateAsync("done");
        });
    }
}
