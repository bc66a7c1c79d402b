using Temporalio.Api.Common.V1;
using Temporalio.Api.Failure.V1;

namespace Bastion.Engine.Nexus;

/// <summary>What one attempt to start a Nexus operation came to, as the caller's history records it.</summary>
internal abstract record NexusStartOutcome
{
    private NexusStartOutcome()
    {
    }

    /// <summary>The handler answered with the result (a sync operation).</summary>
    public sealed record Completed(Payload? Result) : NexusStartOutcome;

    /// <summary>The handler started the operation and will deliver its outcome later (an async operation).</summary>
    public sealed record Started(string OperationToken, IReadOnlyList<Temporalio.Api.Nexus.V1.Link> Links) : NexusStartOutcome;

    /// <summary>The operation itself failed or was canceled (<paramref name="Failure"/> is the handler's).</summary>
    public sealed record Unsuccessful(Failure Failure, bool Canceled) : NexusStartOutcome;

    /// <summary>The handler (or the way to it) failed: retried while <paramref name="Retryable"/>, else the operation fails.</summary>
    public sealed record HandlerFailed(Failure Failure, bool Retryable) : NexusStartOutcome;
}
