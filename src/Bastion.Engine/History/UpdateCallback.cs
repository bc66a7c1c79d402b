namespace Bastion.Engine.History;

/// <summary>
/// A Nexus completion callback attached to a workflow update (an operation backed by the update, as Temporal's
/// <c>Request.completion_callbacks</c>): kept in the run's state from the update's acceptance, told the update's
/// outcome when it completes, or Temporal's AcceptedUpdateCompletedWorkflow failure when the run closes first.
/// </summary>
internal sealed class UpdateCallback
{
    public required string UpdateId { get; set; }

    /// <summary>The encoded <c>NexusCallbackToken</c>: the caller's operation.</summary>
    public required string Token { get; set; }

    /// <summary>The handler's operation token (its <c>Nexus-Operation-Token</c> callback header), for a completion that beats the start's answer.</summary>
    public string? OperationToken { get; set; }

    public DateTime RegistrationTime { get; set; }

    /// <summary>The event that decided the outcome (the UpdateCompleted event, or the run's close); 0 while undecided.</summary>
    public long TriggerEventId { get; set; }

    public bool Delivered { get; set; }
}
