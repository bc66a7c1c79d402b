using Bastion.Server;
using Temporalio.Activities;
using Temporalio.Client;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Encryption;

/// <summary>
/// Customer data of every kind, each value carrying a canary: workflows with input, result, failure, signal, memo and
/// search attributes, an activity, a schedule with its note, visibility queries, a batch job. The encryption tests run
/// it against a server and then look for the canaries in what the store keeps.
/// </summary>
internal static class CanaryWorkload
{
    private const string TypeCanary = "CanaryWorkflowTypeQ7x";
    private const string ActivityCanary = "CanaryActivityTypeQ7x";
    private const string SignalCanary = "CanarySignalNameQ7x";
    private static readonly string[] s_outcomes = ["ok", "fail"];
    private static readonly SearchAttributeKey<string> s_keyword = SearchAttributeKey.CreateKeyword("CustomKeywordField");
    private static readonly SearchAttributeKey<string> s_text = SearchAttributeKey.CreateText("CustomTextField");
    private static readonly SearchAttributeKey<IReadOnlyCollection<string>> s_keywordList = SearchAttributeKey.CreateKeywordList("CustomKeywordListField");

    [Workflow(TypeCanary)]
    public sealed class CanaryWorkflow
    {
        private string? _signal;

        [WorkflowRun]
        public async Task<string> RunAsync(string input)
        {
            var fromActivity = await Workflow.ExecuteActivityAsync(
                (CanaryActivities a) => a.EchoAsync(input + "-activity"),
                new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) });
            await Workflow.WaitConditionAsync(() => _signal != null);
            if (input.Contains("fail", StringComparison.Ordinal))
            {
                throw new ApplicationFailureException("failure-" + input, nonRetryable: true);
            }

            return "result-" + fromActivity + "-" + _signal;
        }

        [WorkflowSignal(SignalCanary)]
        public Task SignalAsync(string value)
        {
            _signal = value;
            return Task.CompletedTask;
        }
    }

    public sealed class CanaryActivities
    {
        [Activity(ActivityCanary)]
        public Task<string> EchoAsync(string value) => Task.FromResult("echo-" + value);
    }

    /// <summary>Runs the workload on <paramref name="server"/>; returns the canaries it wrote.</summary>
    public static async Task<IReadOnlyList<string>> RunAsync(BastionServer server, string canary)
    {
        var canaries = new List<string> { TypeCanary, ActivityCanary, SignalCanary, canary };
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        await client.Connection.OperatorService.AddSearchAttributesAsync(new()
        {
            Namespace = "default",
            SearchAttributes =
            {
                ["CustomKeywordField"] = Temporalio.Api.Enums.V1.IndexedValueType.Keyword,
                ["CustomTextField"] = Temporalio.Api.Enums.V1.IndexedValueType.Text,
                ["CustomKeywordListField"] = Temporalio.Api.Enums.V1.IndexedValueType.KeywordList,
            },
        });
        var taskQueue = "tq-" + canary;
        canaries.Add(taskQueue);
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<CanaryWorkflow>().AddAllActivities(new CanaryActivities()));
        await worker.ExecuteAsync(async () =>
        {
            foreach (var outcome in s_outcomes)
            {
                var id = $"wf-{outcome}-{canary}";
                var options = new WorkflowOptions(id, taskQueue)
                {
                    Memo = new Dictionary<string, object> { ["memo"] = "memo-" + canary },
                    TypedSearchAttributes = new SearchAttributeCollection.Builder()
                        .Set(s_keyword, "sa-" + canary)
                        .Set(s_text, "text words " + canary)
                        .Set(s_keywordList, ["list-" + canary])
                        .ToSearchAttributeCollection(),
                };
                var handle = await client.StartWorkflowAsync((CanaryWorkflow wf) => wf.RunAsync($"input-{outcome}-{canary}"), options);
                await handle.SignalAsync(wf => wf.SignalAsync("signal-" + canary));
                if (outcome == "ok")
                {
                    Assert.Equal($"result-echo-input-ok-{canary}-activity-signal-{canary}", await handle.GetResultAsync());
                }
                else
                {
                    var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
                    Assert.Contains("failure-input-fail-" + canary, failure.InnerException!.Message, StringComparison.Ordinal);
                }
            }
        }).WaitAsync(TimeSpan.FromSeconds(90));

        // A schedule (id, action, memo, search attributes, notes) and the run its trigger starts.
        var schedule = await client.CreateScheduleAsync(
            "sched-" + canary,
            new Temporalio.Client.Schedules.Schedule(
                Temporalio.Client.Schedules.ScheduleActionStartWorkflow.Create(TypeCanary, ["sched-input-" + canary], new WorkflowOptions("sched-wf-" + canary, taskQueue)),
                new Temporalio.Client.Schedules.ScheduleSpec { CronExpressions = ["0 0 1 1 *"] }),
            new Temporalio.Client.Schedules.ScheduleOptions
            {
                Memo = new Dictionary<string, object> { ["memo"] = "sched-memo-" + canary },
                TypedSearchAttributes = new SearchAttributeCollection.Builder().Set(s_keyword, "sched-sa-" + canary).ToSearchAttributeCollection(),
            });
        await schedule.PauseAsync("note-" + canary);
        await schedule.TriggerAsync();
        Assert.Equal(
            ["sched-" + canary],
            await client.ListSchedulesAsync(new() { Query = $"CustomKeywordField = 'sched-sa-{canary}'" }).Select(e => e.Id).ToListAsync());

        // Visibility rows exist and answer through blind indexes (equality) and decoded rows (prefix, contains).
        Assert.Equal(2, (await client.CountWorkflowsAsync($"CustomKeywordField = 'sa-{canary}'")).Count);
        Assert.Equal(2, (await client.CountWorkflowsAsync($"TaskQueue = '{taskQueue}' AND WorkflowId STARTS_WITH 'wf-'")).Count);
        Assert.Equal(1, (await client.CountWorkflowsAsync($"WorkflowId = 'wf-ok-{canary}'")).Count);
        Assert.Equal(2, (await client.CountWorkflowsAsync($"CustomTextField = '{canary.ToUpperInvariant()}' AND CustomKeywordListField = 'list-{canary}'")).Count);
        var listed = await client.ListWorkflowsAsync($"WorkflowId IN ('wf-fail-{canary}', 'other') AND WorkflowType = '{TypeCanary}'").ToListAsync();
        Assert.Equal($"wf-fail-{canary}", Assert.Single(listed).Id);

        // A batch job: its id, reason, query and signal input are customer data too.
        await client.WorkflowService.StartBatchOperationAsync(new()
        {
            Namespace = "default",
            JobId = "job-" + canary,
            Reason = "reason-" + canary,
            VisibilityQuery = $"WorkflowId = 'wf-ok-{canary}'",
            SignalOperation = new()
            {
                Signal = "batch-signal-" + canary,
                Input = new() { Payloads_ = { new Temporalio.Api.Common.V1.Payload { Data = Google.Protobuf.ByteString.CopyFromUtf8("batch-input-" + canary) } } },
            },
        });
        var batch = await client.WorkflowService.DescribeBatchOperationAsync(new() { Namespace = "default", JobId = "job-" + canary });
        Assert.Equal("reason-" + canary, batch.Reason);

        // A task queue's configuration: its queue name and the limit's reason are customer text (issue 21).
        await client.WorkflowService.UpdateTaskQueueConfigAsync(new()
        {
            Namespace = "default",
            TaskQueue = "config-queue-" + canary,
            TaskQueueType = Temporalio.Api.Enums.V1.TaskQueueType.Activity,
            UpdateQueueRateLimit = new() { RateLimit = new() { RequestsPerSecond = 3 }, Reason = "limit-reason-" + canary },
        });
        return canaries;
    }
}
