using System.Collections.Concurrent;
using System.Globalization;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Bastion.Tests.Integration;

/// <summary>
/// SIGTERM to a real <c>bastion server start-dev</c> process under load: long polls waiting for a task are answered
/// empty (not cut off), calls in flight see at most UNAVAILABLE, the process exits by itself with 0 having released its
/// shards, and every acknowledged start is there after a restart on the same database.
/// </summary>
public sealed class GracefulShutdownTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("bastion-sigterm-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Workflow]
    public sealed class IdleWorkflow
    {
        [WorkflowRun]
        public Task RunAsync() => Workflow.WaitConditionAsync(() => false);
    }

    [Fact]
    public async Task Sigterm_UnderLoad_AnswersPendingPollsEmpty_FailsCallsAtMostUnavailable_AndLosesNoAcknowledgedStart()
    {
        var database = Path.Combine(_directory.FullName, "b.db");
        var port = ServerProcess.FreePort();
        using var server = await ServerProcess.StartAsync(port, database);
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default", RpcRetry = new() { MaxRetries = 2 } });
        var taskQueue = ServerFixture.NewTaskQueue();

        // Pollers on a queue nobody feeds: they wait the whole long poll unless the server answers them.
        var polls = Enumerable.Range(0, 4).Select(_ => client.Connection.WorkflowService.PollActivityTaskQueueAsync(new PollActivityTaskQueueRequest
        {
            Namespace = "default",
            TaskQueue = new TaskQueue { Name = "idle-" + taskQueue },
            Identity = "sigterm-test",
        })).ToList();

        // A client waiting for the result of a workflow that will not finish: a history long poll for the close event.
        var waiting = await client.StartWorkflowAsync((IdleWorkflow wf) => wf.RunAsync(), new($"sigterm-waited-{taskQueue}", taskQueue));
        var historyPoll = client.Connection.WorkflowService.GetWorkflowExecutionHistoryAsync(new GetWorkflowExecutionHistoryRequest
        {
            Namespace = "default",
            Execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = waiting.Id },
            WaitNewEvent = true,
            HistoryEventFilterType = HistoryEventFilterType.CloseEvent,
        });

        // Load: starts in a loop until the server is gone.
        var acknowledged = new ConcurrentBag<string>();
        var failures = new ConcurrentBag<Exception>();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = $"sigterm-{worker}-{i.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}";
                try
                {
                    await client.StartWorkflowAsync((IdleWorkflow wf) => wf.RunAsync(), new(id, taskQueue));
                    acknowledged.Add(id);
                }
                catch (Exception e) when (e is RpcException or InvalidOperationException)
                {
                    failures.Add(e);
                    return; // the server is going: this loop is done
                }
            }
        })).ToList();
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count >= 20)), "the load runs");

        var exited = await server.TerminateAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exited && server.ExitCode == 0, $"exited {exited}; output:\n{string.Join("\n", server.Output)}");
        foreach (var poll in polls)
        {
            var answered = await poll.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.True(answered.TaskToken.IsEmpty, "a pending poll is answered empty");
        }

        Assert.All(failures, e => Assert.True(e is RpcException { Code: RpcException.StatusCode.Unavailable }, e.ToString()));

        // The history long poll was answered as if its time ran out: no events, a token to poll again with.
        var page = await historyPoll.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Empty(page.History.Events);
        Assert.False(page.NextPageToken.IsEmpty);

        // The shards were released on the way out (a next server, or a cluster's other nodes, need not wait out the leases).
        var (statusExit, status, statusError) = await Bastion.Tests.Cli.CliProcess.RunAsync("cluster", "status", "--db-filename", database);
        Assert.True(statusExit == 0, statusError);
        Assert.Equal(4, status.Split('\n').Count(l => l.EndsWith("released", StringComparison.Ordinal)));

        // Nothing acknowledged is lost: every start the client saw succeed is in the store.
        using var restarted = await ServerProcess.StartAsync(port, database);
        var again = await TemporalClient.ConnectAsync(new(restarted.Address) { Namespace = "default" });
        foreach (var id in acknowledged)
        {
            await again.GetWorkflowHandle(id).DescribeAsync();
        }
    }
}
