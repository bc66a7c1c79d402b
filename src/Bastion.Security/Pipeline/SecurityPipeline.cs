using System.Collections.Concurrent;
using System.Collections.Frozen;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Audit;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Security.RateLimits;
using Bastion.Security.Tls;
using Bastion.Storage;
using Bastion.Storage.Telemetry;
using Bastion.Wire.Http;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Bastion.Security.Pipeline;

/// <summary>
/// The security pipeline, declared in one place and run for every call on every listener, in this order:
/// authenticate → resolve namespace → authorize → rate-limit → validate (<see cref="RequestValidator"/>) → handler (here,
/// or on the node of a cluster that owns what the call addresses: <see cref="ICallRouter"/>) → audit (always, whatever
/// the outcome).
/// Deny by default: an unclassified method, a missing identity or a namespace mismatch ends the call.
/// </summary>
public sealed partial class SecurityPipeline(
    NamespaceRegistry namespaces,
    IEnumerable<IAuthenticator> authenticators,
    IAuditSink audit,
    PipelineOptions options,
    ICallRouter router,
    NamespaceRateLimiter limits,
    TimeProvider time,
    ILogger<SecurityPipeline> logger) : Interceptor, IRefusedCallRecorder
{
    public const string NamespaceHeader = "temporal-namespace";
    public const string AuthorizationHeader = "authorization";

    private static readonly ConcurrentDictionary<MessageDescriptor, (FieldDescriptor? Namespace, FieldDescriptor? RequestId)> s_fields = new();
    private readonly IAuthenticator[] _authenticators = [.. authenticators];

    /// <summary>Methods that start new workflows: refused in a deprecated namespace.</summary>
    private static readonly FrozenSet<string> s_startsWorkflows = new[]
    {
        "StartWorkflowExecution", "SignalWithStartWorkflowExecution", "ExecuteMultiOperation", "CreateSchedule", "StartBatchOperation",
    }.ToFrozenSet(StringComparer.Ordinal);

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        if (MethodClassification.IsHealthProbe(context.Method))
        {
            // As Temporal's frontend: no credentials needed, not rate-limited, and not audited (probes come every few seconds).
            return await continuation(request, context).ConfigureAwait(false);
        }

        if (MethodClassification.IsClusterInternal(context.Method))
        {
            return await continuation(request, context).ConfigureAwait(false); // the entry node's pipeline ran; see ClusterService
        }

        var started = CallMetrics.Start();
        var (service, method) = SplitMethod(context.Method);
        var call = new CallContext { Service = service, Method = method, Peer = context.Peer, StartTime = time.GetUtcNow().UtcDateTime };

        // The call's audit record gets this id; every log line written while the call runs carries it (a log scope).
        var logId = Guid.NewGuid().ToString();
        using var scope = s_callScope(logger, method, logId);
        var outcome = StatusCode.OK;
        RpcException? failure = null;
        TResponse? response = default;
        AuditRecord? ridingRecord = null;
        PendingAudit? riding = null;
        IDisposable? pollLease = null;
        try
        {
            var message = request as IMessage ?? throw new InvalidOperationException("Requests are protobuf messages.");
            call.Details = AuditRequestDetails.Of(message);
            await AuthenticateAsync(call, context).ConfigureAwait(false);
            call.Permission = MethodClassification.For(service, method)
                ?? throw new ServiceException(ErrorKind.PermissionDenied, $"{service}/{method} is not permitted: it has no access classification.");
            ResolveNamespace(call, message, context);
            Authorize(call);
            pollLease = call.Namespace is { } limited ? limits.Admit(limited, method, message) : null;
            RequestValidator.Validate(message);
            call.AttachTo(context);

            // The call's record rides the first transition it commits (one fsync for both); see PendingAudit.
            ridingRecord = RecordOf(call, context, StatusCode.OK, logId);
            riding = audit.Prepare(ridingRecord);
            PendingAudit.Ambient = riding;
            AuditActor.Current = new AuditActor(ridingRecord.PrincipalType, ridingRecord.PrincipalId, ridingRecord.PrincipalName, ridingRecord.Operation, call.Peer)
            {
                ApiKeyId = ridingRecord.ApiKeyId,
                RequestId = call.RequestId,
            };
            try
            {
                response = await router.InvokeAsync(request, context, call, continuation).ConfigureAwait(false);
            }
            finally
            {
                PendingAudit.Ambient = null;
                AuditActor.Current = null;
            }

            if (call.Namespace is { } charged)
            {
                limits.Charge(charged, response as IMessage);
            }
        }
        catch (Exception e)
        {
            failure = ErrorMapper.ToRpcException(e, context.CancellationToken.IsCancellationRequested);
            if (failure.StatusCode == StatusCode.Internal && e is not RpcException)
            {
                LogInternalError(logger, e, service, method);
            }

            outcome = failure.StatusCode;
        }
        finally
        {
            pollLease?.Dispose();
        }

        try
        {
            if (riding is not null && await WrittenAsync(call, riding).ConfigureAwait(false))
            {
                audit.Landed(riding);
                if (outcome != StatusCode.OK)
                {
                    await AuditAsync(call, RecordOf(call, context, outcome, Guid.NewGuid().ToString(), AuditKinds.ApiCallOutcome, logId)).ConfigureAwait(false);
                }
            }
            else
            {
                await AuditAsync(call, RecordOf(call, context, outcome, logId)).ConfigureAwait(false);
            }
        }
        catch (RpcException e)
        {
            outcome = e.StatusCode; // the record could not be written: the call fails after all
            throw;
        }
        finally
        {
            CallMetrics.End(started, method, call.Namespace, outcome);
            LogCallEnded(logger, service, method, outcome);
        }

        return failure is null ? response! : throw failure;
    }

    /// <summary>
    /// A call the HTTP layer refused before this pipeline (no route, an unparsable body): recorded with whoever the
    /// caller proves to be (Anonymous if nobody), so that it too has its one audit record.
    /// </summary>
    public async ValueTask RecordRefusalAsync(ServerCallContext context, StatusCode status)
    {
        ArgumentNullException.ThrowIfNull(context);
        var call = new CallContext { Service = "HTTP", Method = context.Method, Peer = context.Peer, StartTime = time.GetUtcNow().UtcDateTime };
        try
        {
            await AuthenticateAsync(call, context).ConfigureAwait(false);
        }
        catch (ServiceException)
        {
            // No identity: the record says Anonymous.
        }

        await AuditAsync(call, RecordOf(call, context, status, Guid.NewGuid().ToString())).ConfigureAwait(false);
    }

    /// <summary>
    /// Stage 1: who is calling, and which namespace the connection's TLS server name binds it to. The authenticators
    /// are asked in turn (as registered: a web UI session, an API key, a client certificate, the dev server's loopback
    /// caller); the first that finds its credential decides. A call through the web UI is marked for its audit record.
    /// </summary>
    private async ValueTask AuthenticateAsync(CallContext call, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var serverName = http.Features.Get<ITlsHandshakeFeature>()?.HostName;
        call.EndpointNamespace = EndpointHost.NamespaceOf(serverName, options.BaseDomain);
        call.Via = http.Features.Get<ViaUi>() is null ? null : ViaUi.Name;
        foreach (var authenticator in _authenticators)
        {
            if (await authenticator.AuthenticateAsync(call, context).ConfigureAwait(false) is { } principal)
            {
                call.Principal = principal;
                return;
            }
        }

        throw new ServiceException(
            ErrorKind.Unauthenticated,
            "No valid credentials: present an mTLS client certificate or an API key (authorization: Bearer <key>).");
    }

    /// <summary>
    /// Stage 2: the namespace the request names must agree with the namespace its connection is bound to (the TLS
    /// server name) and with the namespace header, and exist. A bound caller naming another namespace is denied
    /// before any lookup, so it cannot learn which other namespaces exist.
    /// </summary>
    private void ResolveNamespace(CallContext call, IMessage request, ServerCallContext context)
    {
        var fields = s_fields.GetOrAdd(request.Descriptor, static d => (d.FindFieldByName("namespace"), d.FindFieldByName("request_id")));
        if (fields.RequestId?.FieldType == FieldType.String)
        {
            call.RequestId = fields.RequestId.Accessor.GetValue(request) as string;
        }

        // Also for account-level calls that name a namespace (DeleteNamespace): their audit record says which.
        var name = fields.Namespace?.FieldType == FieldType.String ? fields.Namespace.Accessor.GetValue(request) as string : null;
        call.NamespaceName = string.IsNullOrEmpty(name) ? null : name;
        if (!call.Permission!.Value.IsNamespaceScoped())
        {
            return;
        }

        if (call.EndpointNamespace is { } bound
            && (string.IsNullOrEmpty(name) || !namespaces.TryResolve(name, out var addressed) || addressed!.FullName != bound))
        {
            throw new ServiceException(
                ErrorKind.PermissionDenied,
                $"The request's namespace ({ServiceException.Quote(name, 100)}) is not the namespace of this endpoint ({bound}, from the TLS server name).");
        }

        var entry = namespaces.Resolve(name);
        var header = context.RequestHeaders.GetValue(NamespaceHeader);
        if (!string.IsNullOrEmpty(header) && (!namespaces.TryResolve(header, out var named) || named!.Id != entry.Id))
        {
            throw new ServiceException(
                ErrorKind.PermissionDenied,
                $"The {NamespaceHeader} header ({ServiceException.Quote(header, 100)}) does not match the request's namespace ({ServiceException.Quote(name, 100)}).");
        }

        call.Namespace = entry;
        if (entry.State == NamespaceLifecycle.Deprecated && s_startsWorkflows.Contains(call.Method))
        {
            throw new ServiceException(
                ErrorKind.FailedPrecondition,
                $"Namespace {entry.FullName} is deprecated: existing workflows go on, new ones cannot start.",
                new Temporalio.Api.ErrorDetails.V1.NamespaceInvalidStateFailure
                {
                    Namespace = entry.FullName,
                    State = Temporalio.Api.Enums.V1.NamespaceState.Deprecated,
                    AllowedStates = { Temporalio.Api.Enums.V1.NamespaceState.Registered },
                });
        }
    }

    /// <summary>
    /// Stage 3: the principal must hold the permission the method needs, in that namespace's account; an API key
    /// reaches only namespaces that accept API keys (operator grants excepted: they name their namespace), except
    /// through the control plane, whose calls are about the namespace rather than to it.
    /// </summary>
    private static void Authorize(CallContext call)
    {
        if (call.Namespace is { } closed && call.Principal!.IsRefusedBy(closed) && !MethodClassification.IsControlPlane(call.Service))
        {
            throw new ServiceException(ErrorKind.PermissionDenied, $"Namespace {closed.FullName} does not accept API keys (its api_key_auth is disabled).");
        }

        if (!call.Principal!.Allows(call.Permission!.Value, call.Namespace))
        {
            throw new ServiceException(
                ErrorKind.PermissionDenied,
                $"{call.Principal.Type} {call.Principal.Name} lacks {call.Permission} for {call.Service}/{call.Method}"
                + (call.Namespace != null ? $" on namespace {call.Namespace.FullName}." : "."));
        }
    }

    /// <summary>
    /// Stage 5: one record per call, refused or not, without payloads; durable before the response is sent. A call
    /// whose record cannot be written fails (UNAVAILABLE) rather than going unaudited.
    /// </summary>
    private AuditRecord RecordOf(CallContext call, ServerCallContext context, StatusCode outcome, string logId, string kind = AuditKinds.ApiCall, string? callLogId = null)
    {
        var principal = call.Principal;
        return new AuditRecord
        {
            LogId = logId,
            Kind = kind,
            EmitTime = time.GetUtcNow().UtcDateTime,
            Operation = context.Method.TrimStart('/'),
            PrincipalType = principal?.Type.ToString() ?? "Anonymous",
            PrincipalId = principal?.Id ?? string.Empty,
            PrincipalName = principal?.Name ?? string.Empty,
            ApiKeyId = principal?.ApiKeyId,
            Account = call.Namespace?.Account ?? principal?.Account,
            Namespace = call.Namespace?.FullName ?? call.NamespaceName,
            NamespaceId = call.Namespace?.Id,
            Status = (int)outcome,
            Peer = call.Peer,
            XForwardedFor = context.RequestHeaders.GetValue("x-forwarded-for"),
            RequestId = call.RequestId,
            Via = call.Via,
            Details = callLogId is null ? call.Details : new Dictionary<string, string>(call.Details) { ["call_log_id"] = callLogId },
        };
    }

    /// <summary>
    /// Whether the call's record was written with a transition it committed, here or on the cluster node it was sent to.
    /// A node that gave no answer leaves the record in doubt: it is looked for in the log, and written here only if it is
    /// not there, so a node that died between its commit and its answer does not leave it written twice.
    /// </summary>
    private async ValueTask<bool> WrittenAsync(CallContext call, PendingAudit riding)
    {
        if (await riding.CloseAsync().ConfigureAwait(false))
        {
            return true;
        }

        if (!riding.InDoubt)
        {
            return false;
        }

        try
        {
            return await audit.WrittenElsewhereAsync(riding, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAuditLookupFailed(logger, e, call.Service, call.Method);
            return false; // written again rather than lost
        }
    }

    private async ValueTask AuditAsync(CallContext call, AuditRecord record)
    {
        try
        {
            // Not the call's token: a client that goes away does not take its record with it.
            await audit.WriteAsync(record, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAuditFailed(logger, e, call.Service, call.Method);
            throw new RpcException(new Status(StatusCode.Unavailable, "The call could not be recorded in the audit log; it may have taken effect. Retry later."));
        }
    }

    private static (string Service, string Method) SplitMethod(string fullMethod)
    {
        // "/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution"
        var slash = fullMethod.LastIndexOf('/');
        var serviceFull = fullMethod[1..slash];
        return (serviceFull[(serviceFull.LastIndexOf('.') + 1)..], fullMethod[(slash + 1)..]);
    }

    private static readonly Func<ILogger, string, string, IDisposable?> s_callScope =
        LoggerMessage.DefineScope<string, string>("{Operation} {AuditLogId}");

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Could not look for the audit record of {Service}/{Method}, in doubt after a cluster node gave no answer; it is written again.")]
    private static partial void LogAuditLookupFailed(ILogger logger, Exception e, string service, string method);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "{Service}/{Method} ended: {Status}.")]
    private static partial void LogCallEnded(ILogger logger, string service, string method, StatusCode status);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "The audit record of {Service}/{Method} could not be written; the call fails.")]
    private static partial void LogAuditFailed(ILogger logger, Exception e, string service, string method);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "Internal error in {Service}/{Method}.")]
    private static partial void LogInternalError(ILogger logger, Exception e, string service, string method);
}
