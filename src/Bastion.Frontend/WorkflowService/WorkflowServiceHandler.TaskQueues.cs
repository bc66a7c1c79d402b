using Bastion.Engine.Errors;
using Bastion.Engine.Matching;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// Task queue configuration (issue 21): UpdateTaskQueueConfig with Temporal's validation and texts, kept by
/// <see cref="TaskQueueConfigRegistry"/> and enforced by matching; ListTaskQueuePartitions from the partitions matching
/// uses and the node that owns each.
/// </summary>
internal sealed partial class WorkflowServiceHandler
{
    /// <summary>Temporal's frontend limit on the reason of a rate limit change.</summary>
    private const int MaxReasonLength = 1000;

    /// <summary>Temporal's frontend limit on fairness weight overrides set and unset by one request.</summary>
    private const int MaxFairnessOverridesPerRequest = 1000;

    /// <summary>Temporal's limit on a fairness key's length.</summary>
    private const int MaxFairnessKeyLength = 64;

    public async Task<UpdateTaskQueueConfigResponse> UpdateTaskQueueConfig(UpdateTaskQueueConfigRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        Validation.RequireId(request.TaskQueue, "TaskQueue");
        if (request.TaskQueueType is not (TaskQueueType.Workflow or TaskQueueType.Activity or TaskQueueType.Nexus))
        {
            throw ServiceException.InvalidArgument("TaskQueueType must be set.");
        }

        if (request.UpdateQueueRateLimit?.RateLimit is not null && request.TaskQueueType == TaskQueueType.Workflow)
        {
            throw ServiceException.InvalidArgument("Setting rate limit on workflow task queues is not allowed.");
        }

        ValidateRateLimit(request.UpdateQueueRateLimit, "UpdateQueueRateLimit");
        if (request.UpdateFairnessKeyRateLimitDefault?.RateLimit is not null && request.TaskQueueType == TaskQueueType.Workflow)
        {
            throw ServiceException.InvalidArgument("Setting fairness key rate limit on workflow task queues is not allowed.");
        }

        ValidateRateLimit(request.UpdateFairnessKeyRateLimitDefault, "UpdateFairnessKeyRateLimitDefault");
        if (request.Identity.Length > Validation.MaxIdLength)
        {
            throw ServiceException.InvalidArgument($"Identity field too long (max {Validation.MaxIdLength} characters).");
        }

        ValidateFairnessWeights(request);
        return new UpdateTaskQueueConfigResponse { Config = await queueConfigs.UpdateAsync(ns.Id, request).ConfigureAwait(false) };
    }

    public Task<ListTaskQueuePartitionsResponse> ListTaskQueuePartitions(ListTaskQueuePartitionsRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var name = Validation.RequireId(request.TaskQueue?.Name, "TaskQueue");
        var response = new ListTaskQueuePartitionsResponse();
        response.ActivityTaskQueuePartitions.Add(PartitionsOf(new QueueKey(ns.Id, name, TaskCategory.Activity)));
        response.WorkflowTaskQueuePartitions.Add(PartitionsOf(new QueueKey(ns.Id, name, TaskCategory.Workflow)));
        return Task.FromResult(response);
    }

    /// <summary>
    /// Each partition under Temporal's name for it (the root: the queue's own name; partition n:
    /// <c>/_sys/&lt;name&gt;/n</c>) with the address of the node that owns it (its node name when it has none).
    /// </summary>
    private IEnumerable<TaskQueuePartitionMetadata> PartitionsOf(QueueKey queue)
    {
        for (var partition = 0; partition < engine.Routing.Partitions; partition++)
        {
            var owner = engine.Routing.OwnerOfQueue(queue with { Partition = partition });
            yield return new TaskQueuePartitionMetadata
            {
                Key = partition == 0 ? queue.Name : $"/_sys/{queue.Name}/{partition}",
                OwnerHostName = engine.Routing.Membership.AddressOf(owner) is { Length: > 0 } address ? address : owner,
            };
        }
    }

    private static void ValidateRateLimit(UpdateTaskQueueConfigRequest.Types.RateLimitUpdate? update, string label)
    {
        if (update?.RateLimit is not { } limit)
        {
            return;
        }

        if (limit.RequestsPerSecond < 0)
        {
            throw ServiceException.InvalidArgument($"RequestsPerSecond for {label} rate limit must be non-negative.");
        }

        if (!float.IsFinite(limit.RequestsPerSecond))
        {
            throw ServiceException.InvalidArgument($"RequestsPerSecond for {label} rate limit must be a finite number.");
        }

        if (update.Reason.Length > MaxReasonLength)
        {
            throw ServiceException.InvalidArgument($"{label}.Reason field too long (max {MaxReasonLength} characters).");
        }
    }

    private static void ValidateFairnessWeights(UpdateTaskQueueConfigRequest request)
    {
        var total = request.SetFairnessWeightOverrides.Count + request.UnsetFairnessWeightOverrides.Count;
        if (total > MaxFairnessOverridesPerRequest)
        {
            throw ServiceException.InvalidArgument($"too many fairness weight overrides in request: got {total}, maximum {MaxFairnessOverridesPerRequest}");
        }

        foreach (var (key, weight) in request.SetFairnessWeightOverrides)
        {
            ValidateFairnessKey(key);
            if (!(weight > 0))
            {
                throw ServiceException.InvalidArgument($"invalid fairness weight weight for key {ServiceException.Quote(key)}: must be greater than zero");
            }
        }

        foreach (var key in request.UnsetFairnessWeightOverrides)
        {
            ValidateFairnessKey(key);
            if (request.SetFairnessWeightOverrides.ContainsKey(key))
            {
                throw ServiceException.InvalidArgument($"fairness weight override key {ServiceException.Quote(key)} present in both set and unset lists");
            }
        }
    }

    private static void ValidateFairnessKey(string key)
    {
        if (key.Length == 0)
        {
            throw ServiceException.InvalidArgument("fairness weight override key must not be empty");
        }

        if (System.Text.Encoding.UTF8.GetByteCount(key) > MaxFairnessKeyLength)
        {
            throw ServiceException.InvalidArgument("fairness key length exceeds limit");
        }
    }
}
