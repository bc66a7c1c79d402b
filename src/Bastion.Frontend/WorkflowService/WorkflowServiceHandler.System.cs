using Bastion.Engine.Namespaces;
using Bastion.Security.Tls;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Namespace.V1;
using Temporalio.Api.Replication.V1;
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
                InternalErrorDifferentiation = true,
                ActivityFailureIncludeHeartbeat = true,
                EncodedFailureAttributes = true,
                UpsertMemo = true,
                SdkMetadata = true,
                EagerWorkflowStart = false,
                SupportsSchedules = false,
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

    public Task<DescribeNamespaceResponse> DescribeNamespace(DescribeNamespaceRequest request, ServerCallContext context)
    {
        var entry = NamespaceOf(context);
        var response = Describe(entry, string.IsNullOrEmpty(request.Namespace) ? entry.FullName : request.Namespace);
        var expiring = NamespaceTlsPolicies.ExpiringCas(entry, Now);
        if (expiring.Count > 0)
        {
            // Temporal's NamespaceInfo has no field for certificates; its free-form data map carries the warning.
            response.NamespaceInfo.Data[ExpiringCasKey] = string.Join("; ", expiring);
        }

        if (entry.CodecServer is { } codec)
        {
            // Neither NamespaceInfo nor NamespaceConfig has a codec field in Temporal's open API (Temporal Cloud's UI reads
            // it from the Cloud API's NamespaceSpec.codec_server); the data map carries it for UIs and tools that look.
            response.NamespaceInfo.Data[CodecEndpointKey] = codec.Endpoint;
            response.NamespaceInfo.Data[CodecPassAccessTokenKey] = codec.PassAccessToken ? "true" : "false";
            response.NamespaceInfo.Data[CodecIncludeCredentialsKey] = codec.IncludeCrossOriginCredentials ? "true" : "false";
        }

        return Task.FromResult(response);
    }

    /// <summary>The key of <c>NamespaceInfo.data</c> that lists the namespace's client CAs expiring within 15 days.</summary>
    internal const string ExpiringCasKey = "bastion.tls.expiring-client-cas";

    /// <summary>Keys of <c>NamespaceInfo.data</c> that carry the namespace's codec-server setting.</summary>
    internal const string CodecEndpointKey = "bastion.codec-server.endpoint";

    internal const string CodecPassAccessTokenKey = "bastion.codec-server.pass-access-token";

    internal const string CodecIncludeCredentialsKey = "bastion.codec-server.include-cross-origin-credentials";

    private static DescribeNamespaceResponse Describe(NamespaceEntry entry, string nameAsAddressed) => new()
    {
        NamespaceInfo = new NamespaceInfo
        {
            Name = nameAsAddressed,
            Id = entry.Id,
            State = NamespaceState.Registered,
            Description = entry.Description,
            OwnerEmail = entry.OwnerEmail,
            Capabilities = new NamespaceInfo.Types.Capabilities { EagerWorkflowStart = false, SyncUpdate = true, AsyncUpdate = true },
            SupportsSchedules = false,
        },
        Config = new NamespaceConfig
        {
            WorkflowExecutionRetentionTtl = Duration.FromTimeSpan(entry.Retention),
            HistoryArchivalState = ArchivalState.Disabled,
            VisibilityArchivalState = ArchivalState.Disabled,
        },
        ReplicationConfig = new NamespaceReplicationConfig
        {
            ActiveClusterName = "bastion",
            Clusters = { new ClusterReplicationConfig { ClusterName = "bastion" } },
            State = ReplicationState.Normal,
        },
        IsGlobalNamespace = false,
    };
}
