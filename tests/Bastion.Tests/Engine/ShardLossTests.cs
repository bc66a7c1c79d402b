using Bastion.Engine.Tasks;
using Bastion.Server;
using Bastion.Tests.Integration;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Bastion.Tests.Engine;

/// <summary>
/// A second server started on the same database takes every shard (their range ids move on): the first server's next
/// commit is fenced off, it drops what it held for the shard and answers UNAVAILABLE from then on, while the second
/// serves the workflow. Real servers on one SQLite file.
/// </summary>
public sealed class ShardLossTests : IAsyncLifetime
{
    private readonly FileServer _first = new();
    private BastionServer? _second;

    public Task InitializeAsync() => _first.StartAsync();

    public async Task DisposeAsync()
    {
        if (_second != null)
        {
            await _second.DisposeAsync();
        }

        await _first.DeleteAsync();
    }

    [Fact]
    public async Task AFencedCommit_DropsTheShard_ItsCallsAreUnavailable_AndTheNewOwnerServesTheWorkflow()
    {
        var workflowId = "fenced-" + Guid.NewGuid();
        var started = await _first.Service.StartWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowId = workflowId,
            WorkflowType = new WorkflowType { Name = "Waits" },
            TaskQueue = new() { Name = ServerFixture.NewTaskQueue() },
            RequestId = Guid.NewGuid().ToString(),
            WorkflowRunTimeout = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)), // a timer inside the window: held in memory
        });
        Assert.True(_first.Server.Engine.HoldsTask(started.RunId, TaskKind.WorkflowRunTimeout));

        _second = await BastionServer.StartAsync(new ServerOptions
        {
            Port = 0,
            DatabaseFile = _first.DatabaseFile,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        });

        var noRetry = new RpcOptions { Retry = false };
        var signal = new Temporalio.Api.WorkflowService.V1.SignalWorkflowExecutionRequest
        {
            Namespace = "default",
            WorkflowExecution = new() { WorkflowId = workflowId },
            SignalName = "poke",
            RequestId = Guid.NewGuid().ToString(),
        };
        var fenced = await Assert.ThrowsAsync<RpcException>(() => _first.Service.SignalWorkflowExecutionAsync(signal, noRetry));
        Assert.Equal(RpcException.StatusCode.Unavailable, fenced.Code);
        Assert.Contains("not served by this Bastion node", fenced.Message, StringComparison.Ordinal);
        Assert.False(_first.Server.Engine.HoldsTask(started.RunId, TaskKind.WorkflowRunTimeout)); // its timers went with it

        // Not served from memory either: the new owner may change the run at any moment.
        var describe = new Temporalio.Api.WorkflowService.V1.DescribeWorkflowExecutionRequest { Namespace = "default", Execution = new() { WorkflowId = workflowId } };
        Assert.Equal(RpcException.StatusCode.Unavailable, (await Assert.ThrowsAsync<RpcException>(() => _first.Service.DescribeWorkflowExecutionAsync(describe, noRetry))).Code);

        var client = await TemporalClient.ConnectAsync(new(_second.Address) { Namespace = "default" });
        signal.RequestId = Guid.NewGuid().ToString();
        await client.WorkflowService.SignalWorkflowExecutionAsync(signal);
        var history = await client.GetWorkflowHandle(workflowId).FetchHistoryAsync();
        Assert.Single(history.Events, e => e.WorkflowExecutionSignaledEventAttributes?.SignalName == "poke");
    }
}
