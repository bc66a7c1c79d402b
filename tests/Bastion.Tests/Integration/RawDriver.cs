using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Integration;

/// <summary>
/// Drives the server through the SDK's raw WorkflowService client, playing the worker by hand: for tests that
/// need exact control over what a worker sends and when.
/// </summary>
internal sealed class RawDriver(TemporalClient client, string ns = "default")
{
    private static readonly RpcOptions s_pollOptions = new() { Timeout = TimeSpan.FromSeconds(10) };

    public Temporalio.Client.WorkflowService Service => client.Connection.WorkflowService;

    public string Namespace => ns;

    public async Task<StartWorkflowExecutionResponse> StartAsync(string workflowId, string taskQueue, Payloads? input = null) =>
        await Service.StartWorkflowExecutionAsync(new StartWorkflowExecutionRequest
        {
            Namespace = ns,
            WorkflowId = workflowId,
            WorkflowType = new WorkflowType { Name = "RawWorkflow" },
            TaskQueue = new() { Name = taskQueue },
            Input = input,
            RequestId = Guid.NewGuid().ToString(),
            Identity = "raw-driver",
        });

    public async Task<PollWorkflowTaskQueueResponse> PollWorkflowTaskAsync(string taskQueue)
    {
        for (var i = 0; i < 3; i++)
        {
            var response = await Service.PollWorkflowTaskQueueAsync(
                new PollWorkflowTaskQueueRequest { Namespace = ns, TaskQueue = new() { Name = taskQueue }, Identity = "raw-driver" },
                s_pollOptions);
            if (!response.TaskToken.IsEmpty)
            {
                return response;
            }
        }

        throw new TimeoutException($"No workflow task arrived on {taskQueue}.");
    }

    public async Task<PollActivityTaskQueueResponse> PollActivityTaskAsync(string taskQueue)
    {
        for (var i = 0; i < 3; i++)
        {
            var response = await Service.PollActivityTaskQueueAsync(
                new PollActivityTaskQueueRequest { Namespace = ns, TaskQueue = new() { Name = taskQueue }, Identity = "raw-driver" },
                s_pollOptions);
            if (!response.TaskToken.IsEmpty)
            {
                return response;
            }
        }

        throw new TimeoutException($"No activity task arrived on {taskQueue}.");
    }

    public Task<RespondWorkflowTaskCompletedResponse> CompleteAsync(PollWorkflowTaskQueueResponse task, params Command[] commands)
    {
        var request = new RespondWorkflowTaskCompletedRequest { Namespace = ns, TaskToken = task.TaskToken, Identity = "raw-driver" };
        request.Commands.AddRange(commands);
        return Service.RespondWorkflowTaskCompletedAsync(request);
    }

    public async Task<IReadOnlyList<Temporalio.Api.History.V1.HistoryEvent>> HistoryAsync(string workflowId)
    {
        var response = await Service.GetWorkflowExecutionHistoryAsync(new GetWorkflowExecutionHistoryRequest
        {
            Namespace = ns,
            Execution = new() { WorkflowId = workflowId },
        });
        return response.History.Events;
    }

    public static Command CompleteWorkflow() => new()
    {
        CommandType = Temporalio.Api.Enums.V1.CommandType.CompleteWorkflowExecution,
        CompleteWorkflowExecutionCommandAttributes = new(),
    };

    public static Command ScheduleActivity(string activityId, string? type, string taskQueue) => new()
    {
        CommandType = Temporalio.Api.Enums.V1.CommandType.ScheduleActivityTask,
        ScheduleActivityTaskCommandAttributes = new()
        {
            ActivityId = activityId,
            ActivityType = type is null ? null : new ActivityType { Name = type },
            TaskQueue = new() { Name = taskQueue },
            StartToCloseTimeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
        },
    };
}
