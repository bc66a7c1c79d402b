using Bastion.Engine.History;

namespace Bastion.Engine.Matching;

/// <summary>Which of a task queue's two halves a task or poller belongs to.</summary>
public enum TaskCategory
{
    Workflow,
    Activity,
}

/// <summary>
/// A task queue within a namespace, or one partition of it: partition 0 is the queue's root, where its other partitions
/// send the tasks and polls they cannot match themselves (<see cref="MatchingEngine"/>). <see cref="Version"/> names the
/// worker deployment version whose workers a sub-queue serves (canonical <c>deployment.build</c>; empty: unversioned
/// workers), as Temporal's matching keeps a physical queue per version; it lives where its partition does.
/// </summary>
public readonly record struct QueueKey(string NamespaceId, string Name, TaskCategory Type, int Partition = 0, string Version = "")
{
    public QueueKey Root => this with { Partition = 0 };

    public bool IsRoot => Partition == 0;

    // The generated form would print Root, itself a QueueKey with a Root: a stack overflow wherever a key is formatted.
    public override string ToString() =>
        $"{NamespaceId}/{Name} ({Type}, partition {Partition}{(Version.Length == 0 ? string.Empty : ", version " + Version)})";
}

/// <summary>
/// A reference to work waiting in a queue. It carries no state of its own: the engine validates it against
/// the committed mutable state when a poller takes it, so a stale item is simply dropped. <see cref="Priority"/> is the
/// one the task was dispatched with (its run's, or its activity's merged over its run's); it orders the backlog.
/// </summary>
internal abstract record MatchItem(WorkflowKey Key)
{
    public TaskPriority Priority { get; init; }
}

internal sealed record WorkflowTaskItem(WorkflowKey Key, long ScheduledEventId, int Attempt) : MatchItem(Key);

/// <summary>
/// A workflow task already started for the poller it is handed to, in the commit of the transition that scheduled it
/// (<see cref="PollerClaim"/>): the poll answers with <see cref="Response"/> as it is.
/// </summary>
internal sealed record StartedWorkflowTaskItem(WorkflowKey Key, Temporalio.Api.WorkflowService.V1.PollWorkflowTaskQueueResponse Response) : MatchItem(Key);

internal sealed record ActivityTaskItem(WorkflowKey Key, long ScheduledEventId, int Attempt) : MatchItem(Key);

/// <summary>A query delivered as a legacy query task; lives only in memory, like the caller waiting for it.</summary>
internal sealed record QueryTaskItem(WorkflowKey Key, string QueryId) : MatchItem(Key);
