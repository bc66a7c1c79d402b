using Google.Protobuf;

namespace Bastion.Engine.Errors;

/// <summary>The outcome kinds a call can fail with; mapped to gRPC statuses in one place (the pipeline).</summary>
public enum ErrorKind
{
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    PermissionDenied,
    Unauthenticated,
    ResourceExhausted,
    Unavailable,
    Internal,
    Canceled,
    DeadlineExceeded,

    /// <summary>A method Temporal itself answers UNIMPLEMENTED (or one turned off by its dynamic config).</summary>
    Unimplemented,
}

/// <summary>
/// A failure the caller can act on: a kind, a message safe to show (user input quoted truncated) and,
/// where Temporal sends one, the typed error detail the SDKs turn into their own exceptions.
/// </summary>
public sealed class ServiceException : Exception
{
    public ServiceException(ErrorKind kind, string message, IMessage? detail = null)
        : base(message)
    {
        Kind = kind;
        Detail = detail;
    }

    public ServiceException()
        : this(ErrorKind.Internal, "Internal error.")
    {
    }

    public ServiceException(string message)
        : this(ErrorKind.Internal, message)
    {
    }

    public ServiceException(string message, Exception innerException)
        : base(message, innerException)
    {
        Kind = ErrorKind.Internal;
    }

    public ErrorKind Kind { get; }

    public IMessage? Detail { get; }

    public static ServiceException InvalidArgument(string message) => new(ErrorKind.InvalidArgument, message);

    public static ServiceException Unimplemented(string message) => new(ErrorKind.Unimplemented, message);

    public static ServiceException NotFound(string message) =>
        new(ErrorKind.NotFound, message, new Temporalio.Api.ErrorDetails.V1.NotFoundFailure());

    /// <summary>The run is closed: Temporal's NOT_FOUND with its text, which clients match on.</summary>
    public static ServiceException WorkflowCompleted() => NotFound("workflow execution already completed");

    /// <summary>
    /// Temporal's retryable refusal of an operation on a run that is closing into a successor (continue-as-new, retry,
    /// cron): RESOURCE_EXHAUSTED with cause BUSY_WORKFLOW, so a retry reaches the new run.
    /// </summary>
    public static ServiceException WorkflowClosing() => new(
        ErrorKind.ResourceExhausted,
        "workflow operation can not be applied because workflow is closing",
        new Temporalio.Api.ErrorDetails.V1.ResourceExhaustedFailure
        {
            Cause = Temporalio.Api.Enums.V1.ResourceExhaustedCause.BusyWorkflow,
            Scope = Temporalio.Api.Enums.V1.ResourceExhaustedScope.Namespace,
        });

    /// <summary>Whether this is <see cref="WorkflowClosing"/>.</summary>
    public bool IsWorkflowClosing =>
        Kind == ErrorKind.ResourceExhausted && Detail is Temporalio.Api.ErrorDetails.V1.ResourceExhaustedFailure { Cause: Temporalio.Api.Enums.V1.ResourceExhaustedCause.BusyWorkflow };

    /// <summary>Quotes user input for an error message, cut short: messages travel in HTTP/2 headers.</summary>
    public static string Quote(string? value, int max = 200) =>
        value is null ? "(null)" : value.Length <= max ? $"\"{value}\"" : $"\"{value[..max]}…\" ({value.Length} chars)";
}
