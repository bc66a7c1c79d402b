using Google.Protobuf;
using Bastion.Engine.Cluster;
using Temporalio.Api.History.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Work between runs acts on a run that may live on another shard, whose owner may be another node: each such step is
/// a <see cref="CrossRunOperation"/>, run by the owner of the target's shard — here (encoded and decoded all the same:
/// one path) or over the cluster transport.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>Wakes a schedule this node runs (set by the schedule engine).</summary>
    internal Action<string, string>? WakeSchedule { get; set; }

    internal async Task<byte[]> RunCrossRunAsync(int targetShard, CrossRunOperation operation)
    {
        var encoded = operation.Encode();
        var owner = Routing.OwnerOfShard(targetShard);
        return Routing.IsSelf(owner)
            ? await RunOperationAsync(encoded).ConfigureAwait(false)
            : await Routing.Transport!.RunOperationAsync(owner, encoded, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Runs an encoded cross-run operation on this node; its answer (a created child's run id, else nothing).</summary>
    internal async Task<byte[]> RunOperationAsync(byte[] encoded)
    {
        switch (CrossRunOperation.Decode(encoded))
        {
            case CrossRunOperation.CreateChildRun create:
                var runId = await CreateChildRunAsync(
                    create.Parent,
                    create.InitiatedEventId,
                    StartChildWorkflowExecutionInitiatedEventAttributes.Parser.ParseFrom(create.Attributes),
                    create.Metadata is { } metadata ? Temporalio.Api.Sdk.V1.UserMetadata.Parser.ParseFrom(metadata) : null,
                    create.RequestId,
                    create.RootWorkflowId,
                    create.RootRunId).ConfigureAwait(false);
                return System.Text.Encoding.UTF8.GetBytes(runId);
            case CrossRunOperation.RecordChildClosed closed:
                await RecordChildClosedInParentAsync(closed).ConfigureAwait(false);
                return [];
            case CrossRunOperation.ApplyParentClosePolicy policy:
                await ApplyParentClosePolicyToChildAsync(policy).ConfigureAwait(false);
                return [];
            case CrossRunOperation.DeliverExternal external:
                await DeliverExternalToTargetAsync(external).ConfigureAwait(false);
                return [];
            case CrossRunOperation.StartRun start:
                return (await StartWorkflowAsync(start.NamespaceId, Temporalio.Api.WorkflowService.V1.StartWorkflowExecutionRequest.Parser.ParseFrom(start.Request)).ConfigureAwait(false)).ToByteArray();
            case CrossRunOperation.ObserveRun observe:
                return await ObserveRunAsync(observe).ConfigureAwait(false);
            case CrossRunOperation.EndRun end:
                var key = new WorkflowKey(end.NamespaceId, end.WorkflowId, end.RunId);
                if (end.Terminate)
                {
                    await TerminateAsync(key, end.Reason, null, "temporal-scheduler").ConfigureAwait(false);
                }
                else
                {
                    await RequestCancelAsync(key, new Temporalio.Api.WorkflowService.V1.RequestCancelWorkflowExecutionRequest { Identity = "temporal-scheduler", Reason = end.Reason, RequestId = end.RequestId }).ConfigureAwait(false);
                }

                return [];
            case CrossRunOperation.CompleteNexusOperation complete:
                await CompleteNexusOperationAsync(complete).ConfigureAwait(false);
                return [];
            case CrossRunOperation.WakeSchedule wake:
                WakeSchedule?.Invoke(wake.NamespaceId, wake.ScheduleId);
                return [];
            default:
                throw new InvalidOperationException("Unknown cross-run operation.");
        }
    }

    /// <summary>A workflow id's current run's status (4 bytes, little-endian; a run that is gone reads as terminated), then its close event when it completed or failed.</summary>
    private async Task<byte[]> ObserveRunAsync(CrossRunOperation.ObserveRun observe)
    {
        int status;
        HistoryEvent? close = null;
        try
        {
            // The workflow id's current run: a run that continued as new is still the same action.
            var key = await ResolveAsync(observe.NamespaceId, observe.WorkflowId, null).ConfigureAwait(false);
            status = await ReadAsync(key, c => c.State.Status).ConfigureAwait(false);
            if (status is (int)Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Completed or (int)Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Failed)
            {
                var (events, _) = await ReadHistoryAsync(key, 1, 1, wait: false, closeOnly: true, TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
                close = events.FirstOrDefault();
            }
        }
        catch (Errors.ServiceException e) when (e.Kind == Errors.ErrorKind.NotFound)
        {
            status = (int)Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Terminated;
        }

        var answer = new byte[4 + (close?.CalculateSize() ?? 0)];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(answer, status);
        close?.WriteTo(answer.AsSpan(4));
        return answer;
    }
}
