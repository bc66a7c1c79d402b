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
    private async Task<byte[]> RunCrossRunAsync(int targetShard, CrossRunOperation operation)
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
            default:
                throw new InvalidOperationException("Unknown cross-run operation.");
        }
    }
}
