namespace Bastion.Storage;

/// <summary>
/// Task queue configurations set by UpdateTaskQueueConfig (issue 21): one row per task queue and type of a namespace,
/// read whole at start and cached above (Temporal keeps them in the queue's user data). Written only by transitions
/// (<see cref="Transition.TaskQueueConfig"/>), so the call's audit record lands with the change.
/// </summary>
public interface ITaskQueueConfigStore
{
    /// <summary>Every task queue configuration of every namespace, ordered by namespace and key.</summary>
    Task<IReadOnlyList<TaskQueueConfigRecord>> ListTaskQueueConfigsAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A task queue's configuration as stored: its namespace, its key (a blind index of the queue's name and its type, so
/// the name is not in the clear under encryption at rest), the version every change bumps, and the encoded config.
/// </summary>
public sealed record TaskQueueConfigRecord(string NamespaceId, string Key, long Version, byte[] Data);

/// <summary>
/// A configuration written by a transition: <see cref="ExpectedVersion"/> 0 creates it (refused when the key is taken),
/// otherwise the stored version must be <see cref="ExpectedVersion"/> or the whole transition is rejected.
/// </summary>
public sealed record TaskQueueConfigWrite(TaskQueueConfigRecord Record, long ExpectedVersion);
