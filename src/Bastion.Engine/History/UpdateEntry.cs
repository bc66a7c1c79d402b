using Temporalio.Api.Update.V1;

namespace Bastion.Engine.History;

/// <summary>Where an update is in its life, as far as the server is concerned.</summary>
internal enum UpdateStage
{
    /// <summary>Known to the server, waiting to be sent to a worker.</summary>
    Admitted,

    /// <summary>Sent with a workflow task, waiting for the worker's acceptance or rejection.</summary>
    Sent,

    /// <summary>Accepted (WorkflowExecutionUpdateAccepted written), waiting for its outcome.</summary>
    Accepted,

    /// <summary>Completed or rejected: the outcome is known.</summary>
    Completed,
}

/// <summary>
/// An update the run knows of and whose outcome is not yet written. In memory only, as in Temporal: an update
/// not yet accepted is lost with the process and the caller's retry admits it again; accepted and completed
/// updates are in history.
/// </summary>
internal sealed class UpdateEntry(Request request)
{
    public Request Request { get; } = request;

    public UpdateStage Stage { get; set; } = UpdateStage.Admitted;

    public long AcceptedEventId { get; set; }

    public TaskCompletionSource Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource<Outcome> Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
