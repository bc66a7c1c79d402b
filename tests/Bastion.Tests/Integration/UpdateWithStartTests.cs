using Temporalio.Api.Update.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Exceptions;

namespace Bastion.Tests.Integration;

/// <summary>ExecuteMultiOperation (update-with-start) played by hand: what the worker's first task carries, and bad input.</summary>
[Collection(ServerCollection.Name)]
public sealed class UpdateWithStartTests(ServerFixture fixture)
{
    private RawDriver Raw => new(fixture.Client);

    private static ExecuteMultiOperationRequest Request(string workflowId, string taskQueue, string updateId) => new()
    {
        Namespace = "default",
        Operations =
        {
            new ExecuteMultiOperationRequest.Types.Operation
            {
                StartWorkflow = new StartWorkflowExecutionRequest
                {
                    Namespace = "default",
                    WorkflowId = workflowId,
                    WorkflowType = new() { Name = "RawWorkflow" },
                    TaskQueue = new() { Name = taskQueue },
                    RequestId = Guid.NewGuid().ToString(),
                },
            },
            new ExecuteMultiOperationRequest.Types.Operation
            {
                UpdateWorkflow = new UpdateWorkflowExecutionRequest
                {
                    Namespace = "default",
                    WorkflowExecution = new() { WorkflowId = workflowId },
                    WaitPolicy = new() { LifecycleStage = Temporalio.Api.Enums.V1.UpdateWorkflowExecutionLifecycleStage.Accepted },
                    Request = new Request { Meta = new() { UpdateId = updateId }, Input = new() { Name = "add" } },
                },
            },
        },
    };

    [Fact]
    public async Task TheStartedRunsFirstWorkflowTask_CarriesTheUpdate()
    {
        var tq = ServerFixture.NewTaskQueue();
        var id = "uws-raw-" + Guid.NewGuid();
        var call = Raw.Service.ExecuteMultiOperationAsync(Request(id, tq, "first-update"));

        var task = await Raw.PollWorkflowTaskAsync(tq);
        Assert.Equal(3, task.History.Events.Count); // started, scheduled, started: the very first task
        var message = Assert.Single(task.Messages);
        Assert.Equal("first-update", message.ProtocolInstanceId);

        // The worker accepts it; the caller waiting for acceptance is answered.
        var completion = new RespondWorkflowTaskCompletedRequest { Namespace = "default", TaskToken = task.TaskToken };
        completion.Messages.Add(new Temporalio.Api.Protocol.V1.Message
        {
            Id = "first-update/accept",
            ProtocolInstanceId = "first-update",
            Body = Google.Protobuf.WellKnownTypes.Any.Pack(new Acceptance { AcceptedRequestMessageId = message.Id, AcceptedRequestSequencingEventId = message.EventId }),
        });
        completion.Commands.Add(new Temporalio.Api.Command.V1.Command
        {
            CommandType = Temporalio.Api.Enums.V1.CommandType.ProtocolMessage,
            ProtocolMessageCommandAttributes = new() { MessageId = "first-update/accept" },
        });
        await Raw.Service.RespondWorkflowTaskCompletedAsync(completion);

        var response = await call;
        Assert.True(response.Responses[0].StartWorkflow.Started);
        Assert.Equal(Temporalio.Api.Enums.V1.UpdateWorkflowExecutionLifecycleStage.Accepted, response.Responses[1].UpdateWorkflow.Stage);
    }

    [Fact]
    public async Task AStartThatFails_IsReportedAgainstTheStartOperation()
    {
        var id = "uws-bad-start-" + Guid.NewGuid();
        var request = Request(id, ServerFixture.NewTaskQueue(), "u");
        request.Operations[0].StartWorkflow.SearchAttributes = new Temporalio.Api.Common.V1.SearchAttributes
        {
            IndexedFields = { ["NoSuchAttribute"] = new Temporalio.Api.Common.V1.Payload { Data = Google.Protobuf.ByteString.CopyFromUtf8("\"x\"") } },
        };
        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.ExecuteMultiOperationAsync(request));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        var statuses = error.GrpcStatus.Value!.Details.Single().Unpack<Temporalio.Api.ErrorDetails.V1.MultiOperationExecutionFailure>().Statuses;
        Assert.Equal((int)Grpc.Core.StatusCode.InvalidArgument, statuses[0].Code);
        Assert.Equal((int)Grpc.Core.StatusCode.Aborted, statuses[1].Code);
    }

    [Fact]
    public async Task AnInvalidUpdate_StartsNothing()
    {
        var id = "uws-bad-" + Guid.NewGuid();
        var request = Request(id, ServerFixture.NewTaskQueue(), string.Empty);
        var error = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.ExecuteMultiOperationAsync(request));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains("UpdateId", error.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<RpcException>(() => Raw.Service.DescribeWorkflowExecutionAsync(new() { Namespace = "default", Execution = new() { WorkflowId = id } }));
        Assert.Equal(RpcException.StatusCode.NotFound, missing.Code);
    }
}
