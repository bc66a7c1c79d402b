using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Engine.Nexus;
using Bastion.Security.Audit;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Security.Pipeline;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;
using Temporalio.Api.Cloud.Operation.V1;

namespace Bastion.Frontend.CloudService;

/// <summary>
/// The Cloud Ops API (<c>temporal.api.cloud.cloudservice.v1.CloudService</c>): namespaces, users, service accounts,
/// API keys, user groups, Nexus endpoints and async operations of the caller's account. Methods are bound by name from the
/// descriptor; the rest answer UNIMPLEMENTED. Writes are durable when they return, so each returns an
/// <see cref="AsyncOperation"/> already fulfilled; a stale <c>resource_version</c> is FAILED_PRECONDITION.
/// </summary>
internal sealed partial class CloudServiceHandler(
    NamespaceRegistry namespaces,
    NexusEndpointRegistry endpoints,
    IdentityRegistry identities,
    AuditLog auditLog,
    PipelineOptions pipelineOptions,
    Bastion.Security.RateLimits.NamespaceRateLimiter limiter,
    NamespaceDeletion deletion,
    TimeProvider time)
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private static Principal CallerOf(ServerCallContext context) => CallContext.Of(context).Principal!;

    public Task<GetAsyncOperationResponse> GetAsyncOperation(GetAsyncOperationRequest request, ServerCallContext context)
    {
        var operation = identities.Get<AsyncOperationEntry>(CallerOf(context).Account, request.AsyncOperationId, "Async operation");
        return Task.FromResult(new GetAsyncOperationResponse { AsyncOperation = ToProto(operation) });
    }

    /// <summary>Records a completed write and describes it.</summary>
    private async Task<AsyncOperation> OperationAsync(ServerCallContext context, string type, string resourceId, string requestedId) =>
        ToProto(await identities.RecordOperationAsync(CallerOf(context).Account, type, resourceId, requestedId).ConfigureAwait(false));

    private static AsyncOperation ToProto(AsyncOperationEntry operation) => new()
    {
        Id = operation.Id,
        OperationType = operation.OperationType,
        State = AsyncOperation.Types.State.Fulfilled,
        CheckDuration = Duration.FromTimeSpan(TimeSpan.Zero),
        StartedTime = Ts(operation.CreatedTime),
        FinishedTime = Ts(operation.CreatedTime),
    };

    private static Timestamp Ts(DateTime time) => Timestamp.FromDateTime(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    /// <summary>One page of <paramref name="items"/> in order of <paramref name="key"/>; the token is the last key returned.</summary>
    private static (List<T> Page, string NextToken) Page<T>(IEnumerable<T> items, int pageSize, string pageToken, Func<T, string> key)
    {
        var size = pageSize is > 0 and <= MaxPageSize ? pageSize : DefaultPageSize;
        var page = items
            .OrderBy(key, StringComparer.Ordinal)
            .Where(i => string.IsNullOrEmpty(pageToken) || string.CompareOrdinal(key(i), pageToken) > 0)
            .Take(size + 1)
            .ToList();
        return page.Count > size ? (page[..size], key(page[size - 1])) : (page, string.Empty);
    }

    /// <summary>The namespace a request names, in the caller's account, or NOT_FOUND.</summary>
    private NamespaceEntry NamespaceNamed(Principal caller, string name)
    {
        var entry = namespaces.Resolve(name);
        return entry.Account == caller.Account ? entry : throw NamespaceRegistry.NotFound(name);
    }

    private static AccountRole RoleOf(AccountAccess? access, string what) => access?.Role switch
    {
        AccountAccess.Types.Role.Owner => AccountRole.Owner,
        AccountAccess.Types.Role.Admin => AccountRole.Admin,
        AccountAccess.Types.Role.Developer => AccountRole.Developer,
        AccountAccess.Types.Role.FinanceAdmin => AccountRole.FinanceAdmin,
        AccountAccess.Types.Role.Read => AccountRole.Read,
        null or AccountAccess.Types.Role.Unspecified => throw ServiceException.InvalidArgument($"{what}: access.account_access.role is required (owner, admin, developer, finance_admin or read)."),
        var other => throw ServiceException.InvalidArgument($"{what}: account role {other} is not supported here (owner, admin, developer, finance_admin or read)."),
    };

    private static AccountAccess.Types.Role ToProto(AccountRole role) => role switch
    {
        AccountRole.Owner => AccountAccess.Types.Role.Owner,
        AccountRole.Admin => AccountAccess.Types.Role.Admin,
        AccountRole.Developer => AccountAccess.Types.Role.Developer,
        AccountRole.FinanceAdmin => AccountAccess.Types.Role.FinanceAdmin,
        AccountRole.Read => AccountAccess.Types.Role.Read,
        _ => AccountAccess.Types.Role.Unspecified,
    };

    /// <summary>A namespace permission; null for UNSPECIFIED (which removes a grant where that is asked).</summary>
    private static Permission? PermissionOf(NamespaceAccess? access) => access?.Permission switch
    {
        NamespaceAccess.Types.Permission.Read => Permission.NamespaceRead,
        NamespaceAccess.Types.Permission.Write => Permission.NamespaceWrite,
        NamespaceAccess.Types.Permission.Admin => Permission.NamespaceAdmin,
        _ => null,
    };

    private static NamespaceAccess ToProto(Permission permission) => new()
    {
        Permission = permission switch
        {
            Permission.NamespaceAdmin => NamespaceAccess.Types.Permission.Admin,
            Permission.NamespaceWrite => NamespaceAccess.Types.Permission.Write,
            _ => NamespaceAccess.Types.Permission.Read,
        },
    };

    /// <summary>An <see cref="Access"/>'s namespace grants, by namespace id; every namespace must exist in the caller's account.</summary>
    private Dictionary<string, Permission> GrantsOf(Principal caller, Access? access)
    {
        var grants = new Dictionary<string, Permission>(StringComparer.Ordinal);
        foreach (var (name, namespaceAccess) in access?.NamespaceAccesses ?? [])
        {
            grants[NamespaceNamed(caller, name).Id] = PermissionOf(namespaceAccess)
                ?? throw ServiceException.InvalidArgument($"Namespace access for {ServiceException.Quote(name, 100)} needs a permission (read, write or admin).");
        }

        return grants;
    }

    private Access ToProto(AccountRole role, IReadOnlyDictionary<string, Permission> grants)
    {
        var access = new Access { AccountAccess = new AccountAccess { Role = ToProto(role) } };
        foreach (var (namespaceId, permission) in grants)
        {
            if (namespaces.All.FirstOrDefault(n => n.Id == namespaceId) is { } ns)
            {
                access.NamespaceAccesses[ns.FullName] = ToProto(permission);
            }
        }

        return access;
    }

    /// <summary>The identities with a grant on the named namespace; all of them when no name is given.</summary>
    private IEnumerable<T> WithAccessTo<T>(Principal caller, string namespaceName, IEnumerable<T> identities, Func<T, IReadOnlyDictionary<string, Permission>> accessOf)
    {
        if (string.IsNullOrEmpty(namespaceName))
        {
            return identities;
        }

        var ns = NamespaceNamed(caller, namespaceName);
        return identities.Where(i => accessOf(i).ContainsKey(ns.Id));
    }

    /// <summary>Sets or (permission unspecified) removes one namespace grant.</summary>
    private static Dictionary<string, Permission> WithGrant(IReadOnlyDictionary<string, Permission> grants, string namespaceId, Permission? permission)
    {
        var updated = new Dictionary<string, Permission>(grants, StringComparer.Ordinal);
        if (permission is { } granted)
        {
            updated[namespaceId] = granted;
        }
        else
        {
            updated.Remove(namespaceId);
        }

        return updated;
    }
}
