using System.Collections.Concurrent;
using System.Net;
using System.Threading.RateLimiting;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Audit;
using Bastion.Security.Authorization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Bastion.Security.Pipeline;

/// <summary>
/// The security pipeline, declared in one place and run for every call on every listener, in this order:
/// authenticate → resolve namespace → authorize → rate-limit → handler → audit (always, whatever the outcome).
/// Deny by default: an unclassified method, a missing identity or a namespace mismatch ends the call.
/// </summary>
public sealed partial class SecurityPipeline(
    NamespaceRegistry namespaces,
    IAuditSink audit,
    PipelineOptions options,
    TimeProvider time,
    ILogger<SecurityPipeline> logger) : Interceptor
{
    public const string NamespaceHeader = "temporal-namespace";

    private static readonly ConcurrentDictionary<MessageDescriptor, (FieldDescriptor? Namespace, FieldDescriptor? RequestId)> s_fields = new();
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _limiters = new();

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        var (service, method) = SplitMethod(context.Method);
        var call = new CallContext { Service = service, Method = method, Peer = context.Peer, StartTime = time.GetUtcNow().UtcDateTime };
        var outcome = StatusCode.OK;
        try
        {
            var message = request as IMessage ?? throw new InvalidOperationException("Requests are protobuf messages.");
            Authenticate(call, context);
            call.Permission = MethodClassification.For(service, method)
                ?? throw new ServiceException(ErrorKind.PermissionDenied, $"{service}/{method} is not permitted: it has no access classification.");
            ResolveNamespace(call, message, context);
            Authorize(call);
            RateLimit(call);
            call.AttachTo(context);
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var rpc = ErrorMapper.ToRpcException(e, context.CancellationToken.IsCancellationRequested);
            if (rpc.StatusCode == StatusCode.Internal && e is not RpcException)
            {
                LogInternalError(logger, e, service, method);
            }

            outcome = rpc.StatusCode;
            throw rpc;
        }
        finally
        {
            Audit(call, outcome);
        }
    }

    /// <summary>Stage 1: who is calling. In this version the only identity is the dev-mode loopback caller.</summary>
    private void Authenticate(CallContext call, ServerCallContext context)
    {
        var remote = context.GetHttpContext().Connection.RemoteIpAddress;
        if (options.DevMode && remote != null && IPAddress.IsLoopback(remote))
        {
            call.Principal = Principal.LocalDev;
            return;
        }

        throw new ServiceException(
            ErrorKind.Unauthenticated,
            "No valid credentials: present an mTLS client certificate or an API key (authorization: Bearer <key>).");
    }

    /// <summary>Stage 2: the namespace the request names must exist and agree with the namespace header.</summary>
    private void ResolveNamespace(CallContext call, IMessage request, ServerCallContext context)
    {
        var fields = s_fields.GetOrAdd(request.Descriptor, static d => (d.FindFieldByName("namespace"), d.FindFieldByName("request_id")));
        if (fields.RequestId?.FieldType == FieldType.String)
        {
            call.RequestId = fields.RequestId.Accessor.GetValue(request) as string;
        }

        if (!call.Permission!.Value.IsNamespaceScoped())
        {
            return;
        }

        var name = fields.Namespace?.Accessor.GetValue(request) as string;
        call.NamespaceName = name;
        var entry = namespaces.Resolve(name);
        var header = context.RequestHeaders.GetValue(NamespaceHeader);
        if (!string.IsNullOrEmpty(header) && (!namespaces.TryResolve(header, out var named) || named!.Id != entry.Id))
        {
            throw new ServiceException(
                ErrorKind.PermissionDenied,
                $"The {NamespaceHeader} header ({ServiceException.Quote(header, 100)}) does not match the request's namespace ({ServiceException.Quote(name, 100)}).");
        }

        call.Namespace = entry;
    }

    /// <summary>Stage 3: the principal must hold the permission the method needs, in that namespace's account.</summary>
    private static void Authorize(CallContext call)
    {
        if (!call.Principal!.Allows(call.Permission!.Value, call.Namespace?.Account))
        {
            throw new ServiceException(
                ErrorKind.PermissionDenied,
                $"{call.Principal.Type} {call.Principal.Name} lacks {call.Permission} for {call.Service}/{call.Method}"
                + (call.Namespace != null ? $" on namespace {call.Namespace.FullName}." : "."));
        }
    }

    /// <summary>Stage 4: per-namespace request rate.</summary>
    private void RateLimit(CallContext call)
    {
        if (call.Namespace is not { } ns)
        {
            return;
        }

        var limiter = _limiters.GetOrAdd(ns.Id, _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.NamespaceRequestsPerSecond,
            TokensPerPeriod = options.NamespaceRequestsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
        using var lease = limiter.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            throw new ServiceException(ErrorKind.ResourceExhausted, $"Namespace {ns.FullName} is over its rate limit of {options.NamespaceRequestsPerSecond} requests per second.");
        }
    }

    /// <summary>Stage 5: one record per call, refused or not; no payloads.</summary>
    private void Audit(CallContext call, StatusCode outcome)
    {
        var principal = call.Principal;
        audit.Write(new AuditRecord(
            Guid.NewGuid().ToString(),
            time.GetUtcNow().UtcDateTime,
            $"{call.Service}/{call.Method}",
            principal?.Type.ToString() ?? "Anonymous",
            principal?.Id ?? string.Empty,
            principal?.Name ?? string.Empty,
            null,
            call.Namespace?.FullName ?? call.NamespaceName,
            (int)outcome,
            call.Peer,
            call.RequestId));
    }

    private static (string Service, string Method) SplitMethod(string fullMethod)
    {
        // "/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution"
        var slash = fullMethod.LastIndexOf('/');
        var serviceFull = fullMethod[1..slash];
        return (serviceFull[(serviceFull.LastIndexOf('.') + 1)..], fullMethod[(slash + 1)..]);
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "Internal error in {Service}/{Method}.")]
    private static partial void LogInternalError(ILogger logger, Exception e, string service, string method);
}
