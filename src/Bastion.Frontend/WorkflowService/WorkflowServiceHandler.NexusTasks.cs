using System.Text;
using Bastion.Engine.Errors;
using Bastion.Engine.Matching;
using Bastion.Engine.Nexus;
using Google.Protobuf;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// The handler side of Nexus: a worker of the endpoint's target namespace long-polls its task queue for Nexus
/// requests (sync-matched, never stored) and answers each by its task token, which only that namespace may use.
/// </summary>
internal sealed partial class WorkflowServiceHandler
{
    public async Task<PollNexusTaskQueueResponse> PollNexusTaskQueue(PollNexusTaskQueueRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var taskQueue = Validation.RequireId(request.TaskQueue?.Name, "TaskQueue");
        var pollStarted = Now;
        var wait = engine.Routing.PollWaitHere(engine.Routing.OwnerOfNexusQueue(ns.Id, taskQueue), Validation.LongPollBudget(context, pollStarted, options.MaxLongPoll));
        var task = await nexusTasks.PollAsync(ns.Id, taskQueue, wait, context.CancellationToken).ConfigureAwait(false);
        if (task is not { } taken)
        {
            return new PollNexusTaskQueueResponse();
        }

        return new PollNexusTaskQueueResponse
        {
            TaskToken = ByteString.CopyFrom(taken.Token, Encoding.UTF8),
            Request = taken.Request,
            PollerScalingDecision = ScalingDecisionProto(nexusTasks.ScalingDecision(ns.Id, taskQueue, Now - pollStarted, engine.Matching.PollerScaling)),
        };
    }

    public Task<RespondNexusTaskCompletedResponse> RespondNexusTaskCompleted(RespondNexusTaskCompletedRequest request, ServerCallContext context)
    {
        if (request.Response is null)
        {
            throw ServiceException.InvalidArgument("Response is not set on request.");
        }

        Validation.RequireSize(request.Response, "Response", options.MaxPayloadBytes);
        AnswerNexusTask(request.TaskToken, new NexusTaskAnswer(request.Response, null), context);
        return Task.FromResult(new RespondNexusTaskCompletedResponse());
    }

    public Task<RespondNexusTaskFailedResponse> RespondNexusTaskFailed(RespondNexusTaskFailedRequest request, ServerCallContext context)
    {
#pragma warning disable CS0612 // Older SDKs report the handler error in this shape.
        var failure = request.Failure ?? (request.Error is { } error ? NexusCaller.FailureOf(error) : null)
            ?? throw ServiceException.InvalidArgument("Error is not set on request.");
#pragma warning restore CS0612
        Validation.RequireSize(failure, "Failure", options.MaxPayloadBytes);
        AnswerNexusTask(request.TaskToken, new NexusTaskAnswer(null, failure), context);
        return Task.FromResult(new RespondNexusTaskFailedResponse());
    }

    /// <summary>The answer goes to the caller waiting on the token; an unknown, expired or other namespace's token is NOT_FOUND.</summary>
    private void AnswerNexusTask(ByteString token, NexusTaskAnswer answer, ServerCallContext context)
    {
        if (token.IsEmpty)
        {
            throw ServiceException.InvalidArgument("TaskToken is not set on request.");
        }

        if (!nexusTasks.Answer(NamespaceOf(context).Id, token.ToStringUtf8(), answer))
        {
            throw ServiceException.NotFound("Nexus task not found or already expired.");
        }
    }
}
