using System.Globalization;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Authorization;
using Bastion.Security.Pipeline;
using Bastion.Security.Tls;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Namespace.V1;
using Temporalio.Api.Replication.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// Namespaces through Temporal's own RPCs: register, describe, list (only what the caller may see), update and
/// deprecate. Namespaces live in the caller's account; replication and archival are not offered.
/// </summary>
internal sealed partial class WorkflowServiceHandler
{
    /// <summary>The key of <c>NamespaceInfo.data</c> that lists the namespace's client CAs expiring within 15 days.</summary>
    internal const string ExpiringCasKey = "bastion.tls.expiring-client-cas";

    /// <summary>Keys of <c>NamespaceInfo.data</c> that carry the namespace's codec-server setting.</summary>
    internal const string CodecEndpointKey = "bastion.codec-server.endpoint";

    internal const string CodecPassAccessTokenKey = "bastion.codec-server.pass-access-token";

    internal const string CodecIncludeCredentialsKey = "bastion.codec-server.include-cross-origin-credentials";

    private const string ClusterName = "bastion";
    private static readonly TimeSpan s_defaultRetention = TimeSpan.FromDays(3);
    private static readonly TimeSpan s_minRetention = TimeSpan.FromDays(1);
    private static readonly TimeSpan s_maxRetention = TimeSpan.FromDays(90);
    private const int MaxDataEntries = 64;
    private const int MaxDataValueLength = 4096;

    public async Task<RegisterNamespaceResponse> RegisterNamespace(RegisterNamespaceRequest request, ServerCallContext context)
    {
        var principal = CallContext.Of(context).Principal!;
        var (name, account) = SplitName(request.Namespace, principal.Account);
        if (request.IsGlobalNamespace || !string.IsNullOrEmpty(request.ActiveClusterName) && request.ActiveClusterName != ClusterName
            || request.Clusters.Any(c => c.ClusterName != ClusterName))
        {
            throw ServiceException.InvalidArgument("Global (replicated) namespaces are not supported: this server is its only cluster, \"bastion\".");
        }

        RequireNoArchival(request.HistoryArchivalState, request.VisibilityArchivalState);
        var retention = Retention(request.WorkflowExecutionRetentionPeriod) ?? s_defaultRetention;
        var data = MergeData(new Dictionary<string, string>(), request.Data);
        await namespaces.CreateAsync(name, account, retention, tls: null, entry => entry with
        {
            Description = request.Description,
            OwnerEmail = request.OwnerEmail,
            Data = data,
        }).ConfigureAwait(false);
        return new RegisterNamespaceResponse();
    }

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

    /// <summary>
    /// The namespaces the caller may describe (read permission, and its credential accepted there), by full name,
    /// paged by the last name returned. Open to any identity: where Temporal refuses a caller without a cluster-wide
    /// role, this lists what it may reach, so that a namespace-scoped key sees its own namespace.
    /// </summary>
    public Task<ListNamespacesResponse> ListNamespaces(ListNamespacesRequest request, ServerCallContext context)
    {
        var principal = CallContext.Of(context).Principal!;
        var pageSize = request.PageSize is > 0 and <= 1000 ? request.PageSize : 100;
        var after = request.NextPageToken.IsEmpty ? null : request.NextPageToken.ToStringUtf8();
        var visible = namespaces.All
            .Where(n => principal.Allows(Permission.NamespaceRead, n) && !principal.IsRefusedBy(n))
            .Where(n => after is null || string.CompareOrdinal(n.FullName, after) > 0)
            .Take(pageSize + 1)
            .ToList();
        var response = new ListNamespacesResponse();
        foreach (var entry in visible.Take(pageSize))
        {
            // The dev account's namespaces are known by their bare names, as the SDKs and the CLI address them.
            response.Namespaces.Add(Describe(entry, entry.Account == NamespaceRegistry.DevAccount ? entry.Name : entry.FullName));
        }

        if (visible.Count > pageSize)
        {
            response.NextPageToken = ByteString.CopyFromUtf8(visible[pageSize - 1].FullName);
        }

        return Task.FromResult(response);
    }

    public async Task<UpdateNamespaceResponse> UpdateNamespace(UpdateNamespaceRequest request, ServerCallContext context)
    {
        var entry = NamespaceOf(context);
        if (request.ReplicationConfig is { } replication
            && (replication.Clusters.Any(c => c.ClusterName != ClusterName) || !string.IsNullOrEmpty(replication.ActiveClusterName) && replication.ActiveClusterName != ClusterName))
        {
            throw ServiceException.InvalidArgument("Replication is not supported: this server is its only cluster, \"bastion\".");
        }

        if (request.PromoteNamespace)
        {
            throw ServiceException.InvalidArgument("PromoteNamespace is not supported: namespaces here are never global.");
        }

        var updated = entry;
        if (request.UpdateInfo is { } info)
        {
            updated = updated with
            {
                Description = string.IsNullOrEmpty(info.Description) ? updated.Description : info.Description,
                OwnerEmail = string.IsNullOrEmpty(info.OwnerEmail) ? updated.OwnerEmail : info.OwnerEmail,
                Data = MergeData(new Dictionary<string, string>(updated.Data), info.Data),
                State = info.State switch
                {
                    NamespaceState.Unspecified => updated.State,
                    NamespaceState.Registered => NamespaceLifecycle.Registered,
                    NamespaceState.Deprecated => NamespaceLifecycle.Deprecated,
                    _ => throw ServiceException.InvalidArgument($"UpdateInfo.State {info.State} cannot be set here; a namespace is registered or deprecated (delete it with OperatorService/DeleteNamespace)."),
                },
            };
        }

        if (request.Config is { } config)
        {
            RequireNoArchival(config.HistoryArchivalState, config.VisibilityArchivalState);
            updated = updated with { Retention = Retention(config.WorkflowExecutionRetentionTtl) ?? updated.Retention };
        }

        updated = await namespaces.UpdateAsync(updated).ConfigureAwait(false);
        var described = Describe(updated, request.Namespace);
        return new UpdateNamespaceResponse
        {
            NamespaceInfo = described.NamespaceInfo,
            Config = described.Config,
            ReplicationConfig = described.ReplicationConfig,
            IsGlobalNamespace = false,
        };
    }

#pragma warning disable CS0612 // Deprecated by Temporal in favour of UpdateNamespace, but still part of the service.
    public async Task<DeprecateNamespaceResponse> DeprecateNamespace(DeprecateNamespaceRequest request, ServerCallContext context)
#pragma warning restore CS0612
    {
        var entry = NamespaceOf(context);
        await namespaces.UpdateAsync(entry with { State = NamespaceLifecycle.Deprecated }).ConfigureAwait(false);
#pragma warning disable CS0612
        return new DeprecateNamespaceResponse();
#pragma warning restore CS0612
    }

    /// <summary><c>name</c> or <c>name.account</c>; the account must be the caller's own.</summary>
    private static (string Name, string Account) SplitName(string requested, string callerAccount)
    {
        if (string.IsNullOrEmpty(requested))
        {
            throw ServiceException.InvalidArgument("Namespace is not set on request.");
        }

        var dot = requested.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            return (requested, callerAccount);
        }

        var account = requested[(dot + 1)..];
        return account == callerAccount
            ? (requested[..dot], account)
            : throw new ServiceException(
                ErrorKind.PermissionDenied,
                $"Namespace {ServiceException.Quote(requested, 100)} is outside your account ({callerAccount}): namespaces are created in the caller's account.");
    }

    private static TimeSpan? Retention(Duration? value)
    {
        if (value is null || value.Seconds == 0 && value.Nanos == 0)
        {
            return null;
        }

        var retention = value.ToTimeSpan();
        return retention >= s_minRetention && retention <= s_maxRetention
            ? retention
            : throw ServiceException.InvalidArgument(
                $"WorkflowExecutionRetentionPeriod {retention.TotalDays.ToString("0.##", CultureInfo.InvariantCulture)} days is out of range: retention is 1 to 90 days.");
    }

    private static void RequireNoArchival(ArchivalState history, ArchivalState visibility)
    {
        if (history == ArchivalState.Enabled || visibility == ArchivalState.Enabled)
        {
            throw ServiceException.InvalidArgument("Archival is not supported: closed workflows are kept for the namespace's retention, then deleted.");
        }
    }

    private static Dictionary<string, string> MergeData(Dictionary<string, string> current, MapField<string, string> changes)
    {
        foreach (var (key, value) in changes)
        {
            if (value.Length > MaxDataValueLength || key.Length > MaxDataValueLength)
            {
                throw ServiceException.InvalidArgument($"Namespace data {ServiceException.Quote(key, 100)} is longer than {MaxDataValueLength} characters.");
            }

            current[key] = value;
        }

        return current.Count <= MaxDataEntries
            ? current
            : throw ServiceException.InvalidArgument($"Namespace data has more than {MaxDataEntries} entries.");
    }

    private DescribeNamespaceResponse Describe(NamespaceEntry entry, string nameAsAddressed)
    {
        var response = new DescribeNamespaceResponse
        {
            NamespaceInfo = new NamespaceInfo
            {
                Name = nameAsAddressed,
                Id = entry.Id,
                State = entry.State == NamespaceLifecycle.Deprecated ? NamespaceState.Deprecated : NamespaceState.Registered,
                Description = entry.Description,
                OwnerEmail = entry.OwnerEmail,
                Data = { entry.Data.ToDictionary() },
                Capabilities = new NamespaceInfo.Types.Capabilities
                {
                    EagerWorkflowStart = options.EnableEagerWorkflowStart,
                    SyncUpdate = true,
                    AsyncUpdate = true,
                    WorkerHeartbeats = true,
                    PollerAutoscaling = true, // poll answers carry poller scaling decisions
                    PollerAutoscalingAutoEnroll = options.PollerAutoscalingAutoEnroll,
                },
                SupportsSchedules = true,
            },
            Config = new NamespaceConfig
            {
                WorkflowExecutionRetentionTtl = Duration.FromTimeSpan(entry.Retention),
                HistoryArchivalState = ArchivalState.Disabled,
                VisibilityArchivalState = ArchivalState.Disabled,
            },
            ReplicationConfig = new NamespaceReplicationConfig
            {
                ActiveClusterName = ClusterName,
                Clusters = { new ClusterReplicationConfig { ClusterName = ClusterName } },
                State = ReplicationState.Normal,
            },
            IsGlobalNamespace = false,
        };
        return response;
    }
}
