namespace Bastion.Storage;

/// <summary>
/// Worker deployments (issue 21): one row per deployment of a namespace, read whole at start and cached above. Written
/// only by transitions (<see cref="Transition.WorkerDeployment"/>), so the call's audit record lands with the change.
/// </summary>
public interface IWorkerDeploymentStore
{
    /// <summary>Every deployment of every namespace, ordered by namespace and key.</summary>
    Task<IReadOnlyList<WorkerDeploymentRecord>> ListWorkerDeploymentsAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A deployment as stored: its namespace, its key (a blind index of the name, so the name is not in the clear under
/// encryption at rest), the version every change bumps (the conflict token the API hands out), and the encoded state
/// (name, versions, their task queues and metadata, routing).
/// </summary>
public sealed record WorkerDeploymentRecord(string NamespaceId, string Key, long Version, byte[] Data);

/// <summary>
/// A deployment written by a transition: <see cref="ExpectedVersion"/> 0 creates it (refused when the key is taken),
/// otherwise the stored version must be <see cref="ExpectedVersion"/> or the whole transition is rejected.
/// <see cref="Deletes"/> removes it at that version.
/// </summary>
public sealed record WorkerDeploymentWrite(WorkerDeploymentRecord Record, long ExpectedVersion, bool Deletes = false);
