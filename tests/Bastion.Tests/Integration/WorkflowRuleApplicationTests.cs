using System.Collections.Concurrent;
using Bastion.Server;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Activities;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Rules.V1;
using Temporalio.Api.Workflow.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Worker;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// Workflow rules applied (issue 21), driven through the official SDK: a rule's activity-start predicate pauses a
/// matching activity when its attempt is about to start (first attempt or retry), restricted by the rule's
/// visibility query, not once expired or deleted, across a restart; TriggerWorkflowRule applies one now; the pause
/// shows the rule and is undone like any pause; <c>TemporalPauseInfo</c> finds paused runs while they are paused.
/// Each test has its own server: rules are namespace-wide.
/// </summary>
public sealed class WorkflowRuleApplicationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-rules-apply-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Each type fails its first attempt and succeeds after; calls are counted by workflow id and type.</summary>
    public sealed class RuleActivities
    {
        public ConcurrentDictionary<string, int> Calls { get; } = new();

        public int CallsOf(string workflowId, string type) => Calls.GetValueOrDefault($"{workflowId}/{type}");

        [Activity]
        public string Flaky() => Run("Flaky");

        [Activity]
        public string Steady() => Run("Steady");

        private string Run(string type)
        {
            var info = ActivityExecutionContext.Current.Info;
            Calls.AddOrUpdate($"{info.WorkflowId}/{type}", 1, (_, n) => n + 1);
            return info.Attempt < 2 ? throw new InvalidOperationException($"{type} attempt {info.Attempt} fails") : $"{type}@{info.Attempt}";
        }
    }

    [Workflow]
    public sealed class RuleWorkflow
    {
        /// <summary>Runs Flaky (on <paramref name="flakyQueue"/> when given: a queue no worker polls) and, if asked, Steady beside it.</summary>
        [WorkflowRun]
        public async Task<string> RunAsync(string? flakyQueue, bool withSteady)
        {
            var flaky = Workflow.ExecuteActivityAsync((RuleActivities a) => a.Flaky(), Options("flaky", flakyQueue));
            var steady = withSteady ? Workflow.ExecuteActivityAsync((RuleActivities a) => a.Steady(), Options("steady", null)) : Task.FromResult("-");
            return string.Join(",", await Task.WhenAll(flaky, steady));
        }

        private static ActivityOptions Options(string id, string? queue) => new()
        {
            ActivityId = id,
            TaskQueue = queue,
            StartToCloseTimeout = TimeSpan.FromSeconds(60),
            RetryPolicy = new() { InitialInterval = TimeSpan.FromMilliseconds(100), BackoffCoefficient = 1 },
        };
    }

    [Fact]
    public async Task ARule_PausesAMatchingActivityOnItsRetry_NotANonMatchingOne_AndTemporalPauseInfoFindsTheRun()
    {
        await using var server = await BastionServer.StartAsync(Options());
        var client = await ConnectAsync(server);
        await CreateRuleAsync(client, Rule("retries", "ActivityType = 'Flaky' AND Attempts >= 2"), identity: "ops-olga", description: "flaky on retry");
        var activities = new RuleActivities();
        await WithWorkerAsync(client, activities, async tq =>
        {
            var handle = await client.StartWorkflowAsync((RuleWorkflow wf) => wf.RunAsync(null, true), new("retry-" + Guid.NewGuid(), tq));

            // Attempt 1 of both fails; Steady's retry runs, Flaky's is paused by the rule before it starts.
            PendingActivityInfo? flaky = null;
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                var pending = (await DescribeAsync(handle)).PendingActivities;
                flaky = pending.SingleOrDefault(a => a.ActivityId == "flaky");
                return flaky is { State: PendingActivityState.Paused, Attempt: 2 } && pending.All(a => a.ActivityId == "flaky");
            }));
            Assert.Equal(("retries", "ops-olga", "flaky on retry"), (flaky!.PauseInfo.Rule.RuleId, flaky.PauseInfo.Rule.Identity, flaky.PauseInfo.Rule.Reason));
            Assert.Equal(1, activities.CallsOf(handle.Id, "Flaky"));
            Assert.Equal(2, activities.CallsOf(handle.Id, "Steady"));

            var byPause = $"TemporalPauseInfo = 'property:activityType=Flaky' AND WorkflowId = '{handle.Id}'";
            Assert.Equal(1, (await client.CountWorkflowsAsync(byPause)).Count);
            Assert.Equal(0, (await client.CountWorkflowsAsync($"TemporalPauseInfo = 'property:activityType=Steady' AND WorkflowId = '{handle.Id}'")).Count);

            // Unpaused as any pause: the released attempt runs (the rule, still there, does not pause it again).
            await client.WorkflowService.UnpauseActivityAsync(new() { Namespace = "default", Execution = new() { WorkflowId = handle.Id }, Id = "flaky" });
            Assert.Equal(0, (await client.CountWorkflowsAsync(byPause)).Count);
            Assert.Equal("Flaky@2,Steady@2", await handle.GetResultAsync<string>());
        });
    }

    [Fact]
    public async Task ARulesVisibilityQuery_RestrictsTheRunsItAppliesTo()
    {
        await using var server = await BastionServer.StartAsync(Options());
        var client = await ConnectAsync(server);
        var rule = Rule("chosen-only", "ActivityType = 'Flaky'");
        rule.VisibilityQuery = "WorkflowId STARTS_WITH 'chosen-' AND ExecutionStatus = 'Running'";
        await CreateRuleAsync(client, rule);
        var activities = new RuleActivities();
        await WithWorkerAsync(client, activities, async tq =>
        {
            var chosen = await client.StartWorkflowAsync((RuleWorkflow wf) => wf.RunAsync(null, false), new("chosen-" + Guid.NewGuid(), tq));
            var other = await client.StartWorkflowAsync((RuleWorkflow wf) => wf.RunAsync(null, false), new("other-" + Guid.NewGuid(), tq));

            Assert.Equal("Flaky@2,-", await other.GetResultAsync<string>());
            Assert.True(await Eventually.HoldsAsync(async () => await FlakyAsync(chosen) is { State: PendingActivityState.Paused, Attempt: 1 }));
            Assert.Equal("chosen-only", (await FlakyAsync(chosen))!.PauseInfo.Rule.RuleId);
            Assert.Equal(0, activities.CallsOf(chosen.Id, "Flaky"));
            await chosen.TerminateAsync("done");
        });
    }

    [Fact]
    public async Task TriggerWorkflowRule_PausesAPendingActivityNow_ByIdOrInlineSpec_NotWhenExpiredOrNotMatching()
    {
        await using var server = await BastionServer.StartAsync(Options());
        var client = await ConnectAsync(server);
        await CreateRuleAsync(client, ExpiredRule());
        await CreateRuleAsync(client, Rule("other-type", "ActivityType = 'Steady'"));
        var activities = new RuleActivities();
        await WithWorkerAsync(client, activities, async tq =>
        {
            // Flaky goes to a queue no worker polls: it stays scheduled, the expired rule never saw it start.
            var handle = await client.StartWorkflowAsync((RuleWorkflow wf) => wf.RunAsync("nobody-" + Guid.NewGuid(), false), new("trigger-" + Guid.NewGuid(), tq));
            Assert.True(await Eventually.HoldsAsync(async () => await FlakyAsync(handle) is { State: PendingActivityState.Scheduled }));
            var execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = handle.Id };

            Assert.False((await client.WorkflowService.TriggerWorkflowRuleAsync(new() { Namespace = "default", Execution = execution, Id = "expired" })).Applied);
            Assert.False((await client.WorkflowService.TriggerWorkflowRuleAsync(new() { Namespace = "default", Execution = execution, Id = "other-type" })).Applied);
            Assert.Equal(PendingActivityState.Scheduled, (await FlakyAsync(handle))!.State);

            var inline = Rule("inline", "ActivityType = 'Flaky' AND ActivityState = 'Scheduled'");
            inline.ExpirationTime = Timestamp.FromDateTime(DateTime.UtcNow.AddMinutes(-1)); // unused in a trigger, as the API says
            var triggered = await client.WorkflowService.TriggerWorkflowRuleAsync(new() { Namespace = "default", Execution = execution, Spec = inline, Identity = "ops-ivan" });
            Assert.True(triggered.Applied);
            var paused = await FlakyAsync(handle);
            Assert.Equal((PendingActivityState.Paused, "inline", "ops-ivan"), (paused!.State, paused.PauseInfo.Rule.RuleId, paused.PauseInfo.Rule.Identity));

            var missing = await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.TriggerWorkflowRuleAsync(new() { Namespace = "default", Execution = execution, Id = "nope" }));
            Assert.Equal((RpcException.StatusCode.InvalidArgument, "Workflow Rule with this ID not Found."), (missing.Code, missing.Message));
            var none = await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.TriggerWorkflowRuleAsync(new() { Namespace = "default", Execution = execution }));
            Assert.Equal(RpcException.StatusCode.InvalidArgument, none.Code);
            await handle.TerminateAsync("done");
        });
    }

    [Fact]
    public async Task AnExpiredRule_DoesNotApply()
    {
        await using var server = await BastionServer.StartAsync(Options());
        var client = await ConnectAsync(server);
        await CreateRuleAsync(client, ExpiredRule());
        await WithWorkerAsync(client, new RuleActivities(), async tq =>
        {
            var handle = await client.StartWorkflowAsync((RuleWorkflow wf) => wf.RunAsync(null, false), new("expired-" + Guid.NewGuid(), tq));
            Assert.Equal("Flaky@2,-", await handle.GetResultAsync<string>());
        });
    }

    [Fact]
    public async Task ADeletedRule_StopsApplying_AndABatchUnpauseByType_SelectsThroughTemporalPauseInfo()
    {
        await using var server = await BastionServer.StartAsync(Options());
        var client = await ConnectAsync(server);
        await CreateRuleAsync(client, Rule("stop-flaky", "ActivityType = 'Flaky'"));
        var activities = new RuleActivities();
        await WithWorkerAsync(client, activities, async tq =>
        {
            var first = await client.StartWorkflowAsync((RuleWorkflow wf) => wf.RunAsync(null, false), new("first-" + Guid.NewGuid(), tq));
            Assert.True(await Eventually.HoldsAsync(async () => await FlakyAsync(first) is { State: PendingActivityState.Paused, Attempt: 1 }));

            await client.WorkflowService.DeleteWorkflowRuleAsync(new() { Namespace = "default", RuleId = "stop-flaky" });
            var second = await client.StartWorkflowAsync((RuleWorkflow wf) => wf.RunAsync(null, false), new("second-" + Guid.NewGuid(), tq));
            Assert.Equal("Flaky@2,-", await second.GetResultAsync<string>());

            // As Temporal, an unpause by type selects the runs whose TemporalPauseInfo names the type, whatever the query.
            await client.WorkflowService.StartBatchOperationAsync(new()
            {
                Namespace = "default",
                JobId = "unpause-flaky",
                Reason = "rule removed",
                VisibilityQuery = "WorkflowId = 'matches-no-run'",
                UnpauseActivitiesOperation = new() { Type = "Flaky" },
            });
            Assert.Equal("Flaky@2,-", await first.GetResultAsync<string>());
        });
    }

    [Fact]
    public async Task Rules_StillApply_AfterARestart()
    {
        var options = Options(Path.Combine(_directory, "bastion.db"));
        await using (var server = await BastionServer.StartAsync(options))
        {
            await CreateRuleAsync(await ConnectAsync(server), Rule("durable", "ActivityType = 'Flaky'"));
        }

        await using var restarted = await BastionServer.StartAsync(Options(Path.Combine(_directory, "bastion.db")));
        var client = await ConnectAsync(restarted);
        await WithWorkerAsync(client, new RuleActivities(), async tq =>
        {
            var handle = await client.StartWorkflowAsync((RuleWorkflow wf) => wf.RunAsync(null, false), new("durable-" + Guid.NewGuid(), tq));
            Assert.True(await Eventually.HoldsAsync(async () => await FlakyAsync(handle) is { State: PendingActivityState.Paused }));
            Assert.Equal("durable", (await FlakyAsync(handle))!.PauseInfo.Rule.RuleId);
            await handle.TerminateAsync("done");
        });
    }

    [Fact]
    public async Task TemporalPauseInfo_NamesAPausedWorkflow_AndManuallyPausedActivities_AndNoWorkflowSetsIt()
    {
        await using var server = await BastionServer.StartAsync(Options());
        var client = await ConnectAsync(server);
        await WithWorkerAsync(client, new RuleActivities(), async tq =>
        {
            var handle = await client.StartWorkflowAsync((RuleWorkflow wf) => wf.RunAsync("nobody-" + Guid.NewGuid(), false), new("pause-info-" + Guid.NewGuid(), tq));
            Assert.True(await Eventually.HoldsAsync(async () => await FlakyAsync(handle) is not null));
            var execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = handle.Id };
            await client.WorkflowService.PauseActivityAsync(new() { Namespace = "default", Execution = execution, Type = "Flaky" });
            await client.WorkflowService.PauseWorkflowExecutionAsync(new() { Namespace = "default", WorkflowId = handle.Id, Reason = "maintenance", RequestId = Guid.NewGuid().ToString() });

            var described = await DescribeAsync(handle);
            var shown = described.WorkflowExecutionInfo.SearchAttributes.IndexedFields["TemporalPauseInfo"].Data.ToStringUtf8();
            Assert.Equal($"[\"Workflow:{handle.Id}\",\"Reason:maintenance\",\"property:activityType=Flaky\"]", shown);
            Assert.Equal(1, (await client.CountWorkflowsAsync($"TemporalPauseInfo = 'Workflow:{handle.Id}' AND TemporalPauseInfo = 'Reason:maintenance'")).Count);

            await client.WorkflowService.UnpauseWorkflowExecutionAsync(new() { Namespace = "default", WorkflowId = handle.Id, RequestId = Guid.NewGuid().ToString() });
            Assert.Equal(0, (await client.CountWorkflowsAsync($"TemporalPauseInfo = 'Workflow:{handle.Id}'")).Count);
            Assert.Equal(1, (await client.CountWorkflowsAsync($"TemporalPauseInfo = 'property:activityType=Flaky' AND WorkflowId = '{handle.Id}'")).Count);
            await client.WorkflowService.UnpauseActivityAsync(new() { Namespace = "default", Execution = execution, Type = "Flaky" });
            Assert.Equal(0, (await client.CountWorkflowsAsync($"TemporalPauseInfo IS NOT NULL AND WorkflowId = '{handle.Id}'")).Count);
            await handle.TerminateAsync("done");

            // The server keeps it: a workflow may not set it.
            var refused = await Assert.ThrowsAsync<RpcException>(() => client.StartWorkflowAsync(
                (RuleWorkflow wf) => wf.RunAsync(null, false),
                new("sets-pause-info-" + Guid.NewGuid(), tq)
                {
                    TypedSearchAttributes = new Temporalio.Common.SearchAttributeCollection.Builder()
                        .Set(Temporalio.Common.SearchAttributeKey.CreateKeywordList("TemporalPauseInfo"), ["x"]).ToSearchAttributeCollection(),
                }));
            Assert.Equal(RpcException.StatusCode.InvalidArgument, refused.Code);
        });
    }

    [Theory]
    [InlineData("", "the predicate is empty")]
    [InlineData("ActivityType > 'Flaky'", "operation > is not supported for ActivityType filter")]
    [InlineData("Bogus = 'x'", "unknown or unsupported activity search field: Bogus")]
    [InlineData("Attempts = 'two'", "Attempts takes a whole number")]
    [InlineData("ActivityState = 'Done'", "ActivityState is one of Scheduled, Started, CancelRequested, Paused")]
    [InlineData("ActivityType IN ('a', 'b')", "operation is not supported: IN on ActivityType")]
    [InlineData("ActivityType = ", "expected a value")]
    public async Task AMalformedPredicate_IsInvalidArgument_AtCreate(string predicate, string problem)
    {
        await using var server = await BastionServer.StartAsync(Options());
        var client = await ConnectAsync(server);
        var error = await Assert.ThrowsAsync<RpcException>(() => CreateRuleAsync(client, Rule("bad", predicate)));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("Invalid activity predicate", error.Message, StringComparison.Ordinal);

        var query = Rule("bad-query", "ActivityType = 'Flaky'");
        query.VisibilityQuery = "NoSuchAttribute = 1";
        var badQuery = await Assert.ThrowsAsync<RpcException>(() => CreateRuleAsync(client, query));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, badQuery.Code);
        Assert.Empty((await client.WorkflowService.ListWorkflowRulesAsync(new() { Namespace = "default" })).Rules);
    }

    private static async Task<PendingActivityInfo?> FlakyAsync(WorkflowHandle handle) =>
        (await DescribeAsync(handle)).PendingActivities.SingleOrDefault(a => a.ActivityId == "flaky");

    private static Task<Temporalio.Api.WorkflowService.V1.DescribeWorkflowExecutionResponse> DescribeAsync(WorkflowHandle handle) =>
        handle.Client.WorkflowService.DescribeWorkflowExecutionAsync(new() { Namespace = "default", Execution = new() { WorkflowId = handle.Id } });

    private static Task CreateRuleAsync(TemporalClient client, WorkflowRuleSpec spec, string identity = "", string description = "") =>
        client.WorkflowService.CreateWorkflowRuleAsync(new() { Namespace = "default", Spec = spec, Identity = identity, Description = description });

    /// <summary>A matching rule whose expiration time has passed.</summary>
    private static WorkflowRuleSpec ExpiredRule()
    {
        var expired = Rule("expired", "ActivityType = 'Flaky'");
        expired.ExpirationTime = Timestamp.FromDateTime(DateTime.UtcNow.AddMinutes(-1));
        return expired;
    }

    private static WorkflowRuleSpec Rule(string id, string predicate) => new()
    {
        Id = id,
        ActivityStart = new() { Predicate = predicate },
        Actions = { new WorkflowRuleAction { ActivityPause = new() } },
    };

    private static async Task WithWorkerAsync(TemporalClient client, RuleActivities activities, Func<string, Task> body)
    {
        var taskQueue = ServerFixture.NewTaskQueue();
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<RuleWorkflow>().AddAllActivities(activities));
        await worker.ExecuteAsync(() => body(taskQueue).WaitAsync(TimeSpan.FromSeconds(90)));
    }

    private static Task<TemporalClient> ConnectAsync(BastionServer server) =>
        TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });

    private ServerOptions Options(string? databaseFile = null)
    {
        var options = new ServerOptions
        {
            Port = 0,
            DatabaseFile = databaseFile ?? Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".db"),
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        };
        options.DynamicConfig["frontend.workflowRulesAPIsEnabled"] = "true";
        return options;
    }
}
