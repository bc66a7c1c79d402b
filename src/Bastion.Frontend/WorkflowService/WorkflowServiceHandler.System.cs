using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

internal sealed partial class WorkflowServiceHandler
{
    public Task<GetSystemInfoResponse> GetSystemInfo(GetSystemInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new GetSystemInfoResponse
        {
            ServerVersion = options.ServerVersion,
            Capabilities = new GetSystemInfoResponse.Types.Capabilities
            {
                SignalAndQueryHeader = true,
                BuildIdBasedVersioning = true, // the SDKs then send the build id they run on, recorded for replay
                InternalErrorDifferentiation = true,
                ActivityFailureIncludeHeartbeat = true,
                EncodedFailureAttributes = true,
                UpsertMemo = true,
                SdkMetadata = true,
                EagerWorkflowStart = true, // the server supports it; namespaces report whether it is on
                SupportsSchedules = true,
            },
        });

    public Task<GetClusterInfoResponse> GetClusterInfo(GetClusterInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new GetClusterInfoResponse
        {
            ServerVersion = options.ServerVersion,
            ClusterName = "bastion",
            ClusterId = engine.ClusterId,
            HistoryShardCount = engine.ShardCount,
            PersistenceStore = engine.StoreName,
            VersionInfo = new Temporalio.Api.Version.V1.VersionInfo { Current = new() { Version = options.ServerVersion } },
        });
}
