using Google.Protobuf;
using Temporalio.Exceptions;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Query.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Integration;

/// <summary>Queries against runs with a workflow task in flight, played by hand to control the timing.</summary>
[Collection(ServerCollection.Name)]
public sealed class QueryTests(ServerFixture fixture)
{
    private RawDriver Raw => new(fixture.Client);

    private static Payloads Answer(string text) => new() { Payloads_ = { new Payload { Data = ByteString.CopyFromUtf8(text) } } };

    private Task<QueryWorkflowResponse> QueryAsync(string workflowId) => Raw.Service.QueryWorkflowAsync(new QueryWorkflowRequest
    {
        Namespace = "default",
        Execution = new() { WorkflowId = workflowId },
        Query = new WorkflowQuery { QueryType = "state" },
    });

    private async Task<string> StartWithFirstTaskDoneAsync(string taskQueue)
    {
        var id = "query-" + Guid.NewGuid();
        await Raw.StartAsync(id, taskQueue);
        await Raw.CompleteAsync(await Raw.PollWorkflowTaskAsync(taskQueue));
        return id;
    }

    private Task SignalAsync(string workflowId) => Raw.Service.SignalWorkflowExecutionAsync(new SignalWorkflowExecutionRequest
    {
        Namespace = "default",
        WorkflowExecution = new() { WorkflowId = workflowId },
        SignalName = "poke",
        RequestId = Guid.NewGuid().ToString(),
    });

    [Fact]
    public async Task QueryDuringAWorkflowTask_GoesWithTheNextTask_AndIsAnsweredInItsCompletion()
    {
        var tq = "query-attached-" + Guid.NewGuid();
        var id = await StartWithFirstTaskDoneAsync(tq);
        await SignalAsync(id);
        var query = QueryAsync(id);

        // While a workflow task is pending the query is held for one; heartbeat tasks until it rides along.
        while (true)
        {
            var task = await Raw.PollWorkflowTaskAsync(tq);
            Assert.Null(task.Query); // never a separate query task while a workflow task is pending
            if (task.Queries.Count == 0)
            {
                await Raw.Service.RespondWorkflowTaskCompletedAsync(new RespondWorkflowTaskCompletedRequest
                {
                    Namespace = "default",
                    TaskToken = task.TaskToken,
                    ForceCreateNewWorkflowTask = true,
                });
                continue;
            }

            var (queryId, carried) = task.Queries.Single();
            Assert.Equal("state", carried.QueryType);
            var completion = new RespondWorkflowTaskCompletedRequest { Namespace = "default", TaskToken = task.TaskToken };
            completion.QueryResults[queryId] = new WorkflowQueryResult { ResultType = QueryResultType.Answered, Answer = Answer("seen the signal") };
            await Raw.Service.RespondWorkflowTaskCompletedAsync(completion);
            break;
        }

        var response = await query;
        Assert.Equal("seen the signal", response.QueryResult.Payloads_.Single().Data.ToStringUtf8());
    }

    [Fact]
    public async Task QueryBeforeTheFirstWorkflowTaskCompleted_WaitsForIt_AndRidesIt()
    {
        var tq = "query-first-" + Guid.NewGuid();
        var id = "query-first-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        var query = QueryAsync(id);

        // As in Temporal the query is not refused while no workflow task has completed: it waits for the first one
        // and goes with it (failed attempts do not complete one, so it rides a retry if it came after the first).
        for (var attempt = 1; ; attempt++)
        {
            Assert.False(query.IsCompleted, "the query ended before a workflow task carried it: " + query.Exception?.InnerException?.Message);
            Assert.True(attempt <= 50, "no workflow task carried the query");
            var task = await Raw.PollWorkflowTaskAsync(tq);
            Assert.Null(task.Query);
            if (task.Queries.Count == 0)
            {
                await Raw.Service.RespondWorkflowTaskFailedAsync(new RespondWorkflowTaskFailedRequest
                {
                    Namespace = "default",
                    TaskToken = task.TaskToken,
                    Cause = WorkflowTaskFailedCause.Unspecified,
                });
                continue;
            }

            var (queryId, carried) = task.Queries.Single();
            Assert.Equal("state", carried.QueryType);
            var completion = new RespondWorkflowTaskCompletedRequest { Namespace = "default", TaskToken = task.TaskToken };
            completion.QueryResults[queryId] = new WorkflowQueryResult { ResultType = QueryResultType.Answered, Answer = Answer("first task") };
            await Raw.Service.RespondWorkflowTaskCompletedAsync(completion);
            break;
        }

        Assert.Equal("first task", (await query).QueryResult.Payloads_.Single().Data.ToStringUtf8());
    }

    [Fact]
    public async Task QueryOfARunClosedBeforeAnyWorkflowTask_IsWorkflowNotReady()
    {
        var tq = "query-closed-" + Guid.NewGuid();
        var id = "query-closed-" + Guid.NewGuid();
        await Raw.StartAsync(id, tq);
        var query = QueryAsync(id);
        await Raw.Service.TerminateWorkflowExecutionAsync(new() { Namespace = "default", WorkflowExecution = new() { WorkflowId = id } });
        var error = await Assert.ThrowsAsync<RpcException>(() => query);
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, error.Code);
        Assert.Contains("closed before WorkflowTaskStarted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryHeldForAWorkflowTask_BecomesAQueryTask_WhenNoTaskFollows()
    {
        var tq = "query-unblocked-" + Guid.NewGuid();
        var id = await StartWithFirstTaskDoneAsync(tq);
        await SignalAsync(id);
        var running = await Raw.PollWorkflowTaskAsync(tq); // in flight now: the query is held for it
        var query = QueryAsync(id);

        // The task completes without answering (it did not carry the query) and none follows, so the held query
        // becomes a query task (had it arrived after the completion, it would have been one at once).
        await Raw.CompleteAsync(running);
        var queryTask = await Raw.PollWorkflowTaskAsync(tq);
        Assert.NotNull(queryTask.Query);
        await Raw.Service.RespondQueryTaskCompletedAsync(new RespondQueryTaskCompletedRequest
        {
            Namespace = "default",
            TaskToken = queryTask.TaskToken,
            CompletedType = QueryResultType.Answered,
            QueryResult = Answer("answered by a query task"),
        });
        Assert.Equal("answered by a query task", (await query).QueryResult.Payloads_.Single().Data.ToStringUtf8());
    }

    [Fact]
    public async Task FailedQueryAnswer_InACompletion_IsAQueryFailedError()
    {
        var tq = "query-failed-" + Guid.NewGuid();
        var id = await StartWithFirstTaskDoneAsync(tq);
        await SignalAsync(id);
        var query = QueryAsync(id);
        while (true)
        {
            var task = await Raw.PollWorkflowTaskAsync(tq);
            var completion = new RespondWorkflowTaskCompletedRequest { Namespace = "default", TaskToken = task.TaskToken, ForceCreateNewWorkflowTask = task.Queries.Count == 0 };
            foreach (var queryId in task.Queries.Keys)
            {
                completion.QueryResults[queryId] = new WorkflowQueryResult { ResultType = QueryResultType.Failed, ErrorMessage = "no such query: state" };
            }

            await Raw.Service.RespondWorkflowTaskCompletedAsync(completion);
            if (task.Queries.Count > 0)
            {
                break;
            }
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => query);
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains("no such query", error.Message, StringComparison.Ordinal);
    }
}
