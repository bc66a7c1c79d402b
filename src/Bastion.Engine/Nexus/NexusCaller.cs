using Bastion.Engine.Matching;
using Bastion.Engine.Namespaces;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.Nexus.V1;
using Failure = Temporalio.Api.Failure.V1.Failure;

namespace Bastion.Engine.Nexus;

/// <summary>
/// The caller's side of a Nexus call: finds the endpoint in the caller's account, refuses a caller namespace not on
/// its allowlist (the handler's workers never see such a call), and hands the request to the target namespace's task
/// queue through the <see cref="NexusTaskDispatcher"/>; the worker's answer becomes a <see cref="NexusStartOutcome"/>.
/// </summary>
internal sealed class NexusCaller(NexusEndpointRegistry endpoints, NamespaceRegistry namespaces, NexusTaskDispatcher dispatcher)
{
    /// <summary>Temporal's default for one Nexus request (<c>component.nexusoperations.request.timeout</c>).</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Called when a caller namespace is refused by an endpoint's allowlist (the audit record is written there).</summary>
    public Func<NexusRefusal, Task>? Refused { get; set; }

    public NexusTaskDispatcher Dispatcher => dispatcher;

    /// <summary>Whether the caller's account has an endpoint of that name (a standalone operation's start checks first, as Temporal's does).</summary>
    public bool HasEndpoint(NamespaceEntry caller, string endpointName)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return endpoints.FindByName(caller.Account, endpointName) is not null;
    }

    public async Task<NexusStartOutcome> StartAsync(NexusStartCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var (route, refusal) = await RouteAsync(call.CallerNamespaceId, call.Endpoint, call.Service, call.Operation, call.WorkflowId, call.RunId).ConfigureAwait(false);
        if (route is not var (caller, endpoint, targetId))
        {
            return refusal!;
        }

        var timeout = call.Remaining is { } remaining && remaining < RequestTimeout ? (remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1)) : RequestTimeout;
        var request = new Request
        {
            ScheduledTime = Timestamp.FromDateTime(DateTime.SpecifyKind(call.ScheduledTime, DateTimeKind.Utc)),
            Endpoint = endpoint.Name,
            Capabilities = new Request.Types.Capabilities { TemporalFailureResponses = true },
            StartOperation = new StartOperationRequest
            {
                Service = call.Service,
                Operation = call.Operation,
                RequestId = call.RequestId,
                Payload = call.Input ?? new Payload(),
                Callback = NexusCallbackToken.SystemUrl,
                CallbackHeader = { [NexusCallbackToken.Header] = new NexusCallbackToken(caller.Id, call.WorkflowId, call.RunId, call.ScheduledEventId, call.RequestId).Encode() },
                Links =
                {
                    call.StandaloneOperationId is { } operationId
                        ? NexusLinks.ToOperation(NexusEndpointRegistry.DisplayName(caller), operationId, call.RunId)
                        : NexusLinks.ToEvent(NexusEndpointRegistry.DisplayName(caller), call.WorkflowId, call.RunId, call.ScheduledEventId, EventType.NexusOperationScheduled),
                },
            },
        };
        foreach (var (name, value) in call.Header)
        {
            request.Header[name.ToLowerInvariant()] = value;
        }

        request.Header["request-timeout"] = $"{(long)timeout.TotalMilliseconds}ms";
        var answer = await dispatcher.DispatchAsync(targetId, endpoint.TargetTaskQueue!, request, timeout, cancellationToken).ConfigureAwait(false);
        return answer is null
            ? HandlerError("upstream timeout: no worker answered the Nexus request in time", "UPSTREAM_TIMEOUT", retryable: true)
            : OutcomeOf(answer);
    }

    /// <summary>
    /// Asks the handler to cancel a started operation; null when it accepted, else the handler's (or the way's)
    /// failure, retried by the caller while retryable.
    /// </summary>
    public async Task<NexusStartOutcome.HandlerFailed?> CancelAsync(NexusCancelCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var (route, refusal) = await RouteAsync(call.CallerNamespaceId, call.Endpoint, call.Service, call.Operation, call.WorkflowId, call.RunId).ConfigureAwait(false);
        if (route is not var (_, endpoint, targetId))
        {
            return refusal!;
        }

        var request = new Request
        {
            ScheduledTime = Timestamp.FromDateTime(DateTime.UtcNow),
            Endpoint = endpoint.Name,
            Capabilities = new Request.Types.Capabilities { TemporalFailureResponses = true },
            CancelOperation = new CancelOperationRequest
            {
                Service = call.Service,
                Operation = call.Operation,
#pragma warning disable CS0612 // Older SDKs read the operation id.
                OperationId = call.OperationToken,
#pragma warning restore CS0612
                OperationToken = call.OperationToken,
            },
        };
        request.Header["request-timeout"] = $"{(long)RequestTimeout.TotalMilliseconds}ms";
        var answer = await dispatcher.DispatchAsync(targetId, endpoint.TargetTaskQueue!, request, RequestTimeout, cancellationToken).ConfigureAwait(false);
        return answer is null ? HandlerError("upstream timeout: no worker answered the Nexus cancel request in time", "UPSTREAM_TIMEOUT", retryable: true)
            : answer.HandlerFailure is { } failure ? new NexusStartOutcome.HandlerFailed(failure, IsRetryable(failure.NexusHandlerFailureInfo?.Type ?? string.Empty, failure.NexusHandlerFailureInfo?.RetryBehavior ?? NexusHandlerErrorRetryBehavior.Unspecified))
            : null;
    }

    /// <summary>
    /// The endpoint a caller names, in its account, if the caller may use it and it leads to a namespace here;
    /// otherwise the refusal (audited when the allowlist refused it).
    /// </summary>
    private async Task<((NamespaceEntry Caller, NexusEndpointEntry Endpoint, string TargetId)? Route, NexusStartOutcome.HandlerFailed? Refusal)> RouteAsync(
        string callerNamespaceId, string endpointName, string service, string operation, string workflowId, string runId)
    {
        var caller = namespaces.FindById(callerNamespaceId)
            ?? throw new InvalidOperationException($"Caller namespace {callerNamespaceId} is gone.");
        var endpoint = endpoints.FindByName(caller.Account, endpointName);
        if (endpoint is null)
        {
            return (null, HandlerError($"endpoint not registered: {endpointName}", "NOT_FOUND", retryable: false));
        }

        if (!endpoint.AllowedCallerNamespaceIds.Contains(caller.Id))
        {
            if (Refused is { } refused)
            {
                await refused(new NexusRefusal(caller, endpoint, service, operation, workflowId, runId)).ConfigureAwait(false);
            }

            return (null, HandlerError(
                $"namespace {NexusEndpointRegistry.DisplayName(caller)} is not allowed to call Nexus endpoint {endpoint.Name}: it is not on the endpoint's allowed caller namespaces",
                "UNAUTHORIZED",
                retryable: false));
        }

        if (endpoint.TargetNamespaceId is not { } targetId || namespaces.FindById(targetId) is null)
        {
            return (null, HandlerError(
                endpoint.TargetNamespaceId is null
                    ? $"Nexus endpoint {endpoint.Name} has an external target, which this server does not call"
                    : $"the target namespace of Nexus endpoint {endpoint.Name} no longer exists",
                "NOT_IMPLEMENTED",
                retryable: false));
        }

        return ((caller, endpoint, targetId), null);
    }

    /// <summary>A worker's answer as the caller sees it (both the failure forms of older SDKs and Temporal failures).</summary>
    private static NexusStartOutcome OutcomeOf(NexusTaskAnswer answer)
    {
        if (answer.HandlerFailure is { } handlerFailure)
        {
            var info = handlerFailure.NexusHandlerFailureInfo;
            return new NexusStartOutcome.HandlerFailed(handlerFailure, IsRetryable(info?.Type ?? string.Empty, info?.RetryBehavior ?? NexusHandlerErrorRetryBehavior.Unspecified));
        }

        var start = answer.Response?.StartOperation;
        switch (start?.VariantCase)
        {
            case StartOperationResponse.VariantOneofCase.SyncSuccess:
                return new NexusStartOutcome.Completed(start.SyncSuccess.Payload);
            case StartOperationResponse.VariantOneofCase.AsyncSuccess:
#pragma warning disable CS0612 // Older SDKs send the operation id only.
                var token = string.IsNullOrEmpty(start.AsyncSuccess.OperationToken) ? start.AsyncSuccess.OperationId : start.AsyncSuccess.OperationToken;
#pragma warning restore CS0612
                return new NexusStartOutcome.Started(token, start.AsyncSuccess.Links);
            case StartOperationResponse.VariantOneofCase.Failure:
                return new NexusStartOutcome.Unsuccessful(start.Failure, start.Failure.CanceledFailureInfo is not null);
            case StartOperationResponse.VariantOneofCase.OperationError:
#pragma warning disable CS0612 // Older SDKs answer an unsuccessful operation in this shape.
                var error = start.OperationError;
#pragma warning restore CS0612
                var canceled = error.OperationState == "canceled";
                var failure = new Failure { Message = error.Failure?.Message ?? string.Empty };
                if (canceled)
                {
                    failure.CanceledFailureInfo = new CanceledFailureInfo();
                }
                else
                {
                    failure.ApplicationFailureInfo = new ApplicationFailureInfo { NonRetryable = true };
                }

                return new NexusStartOutcome.Unsuccessful(failure, canceled);
            default:
                return HandlerError("the worker's Nexus response has no start operation result", "INTERNAL", retryable: false);
        }
    }

    /// <summary>A handler error in the old shape (<c>nexus.v1.HandlerError</c>) as a Temporal failure.</summary>
    public static Failure FailureOf(HandlerError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new Failure
        {
            Message = error.Failure?.Message ?? error.ErrorType,
            NexusHandlerFailureInfo = new NexusHandlerFailureInfo { Type = error.ErrorType, RetryBehavior = error.RetryBehavior },
        };
    }

    /// <summary>Nexus's rule: the retry behavior when the handler set one, else by error type.</summary>
    private static bool IsRetryable(string type, NexusHandlerErrorRetryBehavior behavior) => behavior switch
    {
        NexusHandlerErrorRetryBehavior.Retryable => true,
        NexusHandlerErrorRetryBehavior.NonRetryable => false,
        _ => type is not ("BAD_REQUEST" or "UNAUTHENTICATED" or "UNAUTHORIZED" or "NOT_FOUND" or "NOT_IMPLEMENTED"),
    };

    private static NexusStartOutcome.HandlerFailed HandlerError(string message, string type, bool retryable) => new(
        new Failure
        {
            Message = message,
            NexusHandlerFailureInfo = new NexusHandlerFailureInfo
            {
                Type = type,
                RetryBehavior = retryable ? NexusHandlerErrorRetryBehavior.Retryable : NexusHandlerErrorRetryBehavior.NonRetryable,
            },
        },
        retryable);
}

/// <summary>One start attempt of a Nexus operation, as the caller's scheduled event describes it.</summary>
internal sealed record NexusStartCall(
    string CallerNamespaceId,
    string WorkflowId,
    string RunId,
    long ScheduledEventId,
    string Endpoint,
    string Service,
    string Operation,
    string RequestId,
    Payload? Input,
    IReadOnlyDictionary<string, string> Header,
    DateTime ScheduledTime,
    TimeSpan? Remaining)
{
    /// <summary>Set for a standalone operation (no workflow calls it): the handler's link then names the operation.</summary>
    public string? StandaloneOperationId { get; init; }
}

/// <summary>A cancel request for a started operation, as the caller's pending operation describes it.</summary>
internal sealed record NexusCancelCall(string CallerNamespaceId, string WorkflowId, string RunId, string Endpoint, string Service, string Operation, string OperationToken);

/// <summary>A call an endpoint's allowlist refused: who called, which endpoint, what.</summary>
public sealed record NexusRefusal(NamespaceEntry Caller, NexusEndpointEntry Endpoint, string Service, string Operation, string WorkflowId, string RunId);
