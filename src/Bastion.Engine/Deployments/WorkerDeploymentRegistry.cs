using System.Buffers.Binary;
using System.Collections.Concurrent;
using Bastion.Engine.Errors;
using Bastion.Storage;
using Temporalio.Api.Enums.V1;

namespace Bastion.Engine.Deployments;

/// <summary>
/// The worker deployments of every namespace, durable in the store and cached here (issue 21). A version appears when
/// a versioned worker polls (<see cref="RegisterPollerAsync"/>); its task queues are those its workers polled. Every
/// change is one transition under the row's version, which is also the conflict token: a token that is not the
/// stored one is FAILED_PRECONDITION. Routing changes are announced (<see cref="RoutingChanged"/>) so matching moves
/// the work already queued.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore never allocates its wait handle (only WaitAsync is used).")]
public sealed class WorkerDeploymentRegistry(IStorageProvider store, GroupCommitter committer, IRecordCodec codec, TimeProvider time)
{
    private readonly ConcurrentDictionary<(string Ns, string Name), WorkerDeploymentState> _deployments = new();

    // Task queue → the deployments with a version on it: the routing lookup on the task path reads only this.
    private volatile Dictionary<(string Ns, string TaskQueue), string[]> _byQueue = [];

    private readonly SemaphoreSlim _writeLock = new(1, 1);

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    /// <summary>A deployment's routing changed: the namespace id and the task queues of its versions.</summary>
    public event Action<string, IReadOnlyCollection<string>>? RoutingChanged;

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ReadStoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The cache replaced by the store's rows; under the write lock.</summary>
    private async Task ReadStoreAsync(CancellationToken cancellationToken)
    {
        var stored = await store.WorkerDeployments.ListWorkerDeploymentsAsync(cancellationToken).ConfigureAwait(false);
        var seen = new HashSet<(string, string)>();
        var rerouted = new List<(string Ns, WorkerDeploymentState State)>();
        foreach (var record in stored)
        {
            var state = WorkerDeploymentState.Deserialize(codec.Decode(RecordIdentities.WorkerDeployment(record.NamespaceId, record.Key), record.Data));
            state.Version = record.Version;
            if (_deployments.TryGetValue((record.NamespaceId, state.Name), out var cached) && cached.RevisionNumber != state.RevisionNumber)
            {
                rerouted.Add((record.NamespaceId, state)); // routed elsewhere by another node of a cluster
            }

            _deployments[(record.NamespaceId, state.Name)] = state;
            seen.Add((record.NamespaceId, state.Name));
        }

        foreach (var gone in _deployments.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _deployments.TryRemove(gone, out _);
        }

        RebuildIndex();
        foreach (var (ns, state) in rerouted)
        {
            RoutingChanged?.Invoke(ns, QueuesOf(state));
        }
    }

    /// <summary>True when some deployment has a version on the task queue (only then is routing by version needed).</summary>
    public bool HasVersions(string namespaceId, string taskQueue) => _byQueue.ContainsKey((namespaceId, taskQueue));

    /// <summary>
    /// The routing config that applies to a task queue: of the deployments with a version on it, the one whose routing
    /// changed last (Temporal's rule when a queue is in several); null when none.
    /// </summary>
    public DeploymentRouting? RoutingOf(string namespaceId, string taskQueue)
    {
        if (!_byQueue.TryGetValue((namespaceId, taskQueue), out var names))
        {
            return null;
        }

        WorkerDeploymentState? chosen = null;
        foreach (var name in names)
        {
            if (_deployments.TryGetValue((namespaceId, name), out var d) && (chosen is null || LastRoutingChange(d) > LastRoutingChange(chosen)))
            {
                chosen = d;
            }
        }

        return chosen is null ? null
            : new DeploymentRouting(chosen.Name, chosen.CurrentBuildId, chosen.HasRamping, chosen.RampingBuildId, chosen.RampPercentage, chosen.RevisionNumber);
    }

    /// <summary>True when <paramref name="version"/>'s workers polled <paramref name="taskQueue"/>.</summary>
    public bool HasQueue(string namespaceId, DeploymentVersionId version, string taskQueue) =>
        _deployments.TryGetValue((namespaceId, version.DeploymentName), out var d)
        && d.Find(version.BuildId) is { } v && v.TaskQueues.Exists(q => q.Name == taskQueue);

    /// <summary>True when the namespace has the version.</summary>
    public bool HasVersion(string namespaceId, DeploymentVersionId version) =>
        _deployments.TryGetValue((namespaceId, version.DeploymentName), out var d) && d.Find(version.BuildId) is not null;

    /// <summary>A copy of the deployment; NOT_FOUND (Temporal's text) when there is none.</summary>
    public WorkerDeploymentState Get(string namespaceId, string name) =>
        _deployments.TryGetValue((namespaceId, name), out var d) ? d.Clone() : throw ServiceException.NotFound("Worker Deployment not found");

    /// <summary>The namespace's deployments, by name.</summary>
    public IReadOnlyList<WorkerDeploymentState> List(string namespaceId) =>
        [.. _deployments.Where(d => d.Key.Ns == namespaceId).OrderBy(d => d.Key.Name, StringComparer.Ordinal).Select(d => d.Value.Clone())];

    /// <summary>The version, with its deployment; NOT_FOUND when either is missing.</summary>
    public (WorkerDeploymentState Deployment, DeploymentVersionState Version) GetVersion(string namespaceId, DeploymentVersionId version)
    {
        var deployment = _deployments.TryGetValue((namespaceId, version.DeploymentName), out var d) ? d.Clone() : null;
        return deployment?.Find(version.BuildId) is { } v ? (deployment, v) : throw ServiceException.NotFound("Worker Deployment Version not found");
    }

    public static byte[] ConflictToken(WorkerDeploymentState deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var token = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(token, deployment.TokenRevision);
        return token;
    }

    /// <summary>
    /// A new deployment. Its token starts at its creation time (as Temporal's), so a deployment deleted and made again
    /// under the same name never takes a token of the one before.
    /// </summary>
    private static WorkerDeploymentState Created(string name, DateTime now) => new() { Name = name, CreateTime = now, TokenRevision = now.Ticks };

    /// <summary>
    /// A versioned worker polled <paramref name="taskQueue"/>: its version (and deployment) exist from now on, with the
    /// queue among the version's. Nothing is written when the cache already has it.
    /// </summary>
    public Task RegisterPollerAsync(string namespaceId, DeploymentVersionId version, string taskQueue, TaskQueueType type, string identity)
    {
        if (_deployments.TryGetValue((namespaceId, version.DeploymentName), out var known)
            && known.Find(version.BuildId) is { } v && v.TaskQueues.Contains(new VersionTaskQueue(taskQueue, (int)type)))
        {
            return Task.CompletedTask;
        }

        DeploymentVersionId.Validate(version.DeploymentName, "deployment_name");
        DeploymentVersionId.Validate(version.BuildId, "build_id");
        return MutateAsync(namespaceId, version.DeploymentName, createIfMissing: true, identity: null, d =>
        {
            var entry = d.Find(version.BuildId);
            if (entry is null)
            {
                entry = new DeploymentVersionState { BuildId = version.BuildId, CreateTime = Now, LastModifierIdentity = identity };
                d.Versions.Add(entry);
            }

            var queue = new VersionTaskQueue(taskQueue, (int)type);
            if (entry.TaskQueues.Contains(queue))
            {
                return false;
            }

            entry.TaskQueues.Add(queue);
            if (entry.Status == (int)WorkerDeploymentVersionStatus.Created)
            {
                entry.Status = (int)WorkerDeploymentVersionStatus.Inactive; // a created version's first poller (Temporal's rule)
            }

            return true;
        });
    }

    /// <summary>
    /// CreateWorkerDeployment: a deployment before any worker polls. The same request id again answers the current
    /// token; a deployment made by another request (or by its workers' polls) is ALREADY_EXISTS with Temporal's text.
    /// </summary>
    public async Task<byte[]> CreateAsync(string namespaceId, string name, string identity, string requestId)
    {
        DeploymentVersionId.Validate(name, "deployment_name");
        var state = await MutateAsync(namespaceId, name, createIfMissing: true, identity, d =>
        {
            if (d.Version == 0)
            {
                d.CreateRequestId = requestId;
                return true;
            }

            return d.CreateRequestId == requestId
                ? false
                : throw new ServiceException(ErrorKind.AlreadyExists, $"Worker Deployment with name {ServiceException.Quote(name)} already exists{(d.CreateRequestId is null ? " (auto-created from worker polls)" : string.Empty)}");
        }).ConfigureAwait(false);
        return ConflictToken(state);
    }

    /// <summary>
    /// CreateWorkerDeploymentVersion: a version (status CREATED until its first poller) in an existing deployment.
    /// The same request id again succeeds; otherwise an existing version is ALREADY_EXISTS with Temporal's text.
    /// <paramref name="check"/> runs last, before the version is added (Temporal checks its compute config there).
    /// </summary>
    public Task CreateVersionAsync(string namespaceId, DeploymentVersionId version, string identity, string requestId, Action check)
    {
        DeploymentVersionId.Validate(version.DeploymentName, "deployment_name");
        DeploymentVersionId.Validate(version.BuildId, "build_id");
        if (!_deployments.ContainsKey((namespaceId, version.DeploymentName)))
        {
            throw DeploymentNotFound(version.DeploymentName);
        }

        return MutateAsync(namespaceId, version.DeploymentName, createIfMissing: false, identity, d =>
        {
            if (d.Find(version.BuildId) is { } existing)
            {
                return existing.CreateRequestId == requestId
                    ? false
                    : throw new ServiceException(ErrorKind.AlreadyExists, $"Worker Deployment Version {ServiceException.Quote(version.Canonical)} already exists");
            }

            check();
            var entry = AddVersion(d, version.BuildId, identity);
            entry.Status = (int)WorkerDeploymentVersionStatus.Created;
            entry.CreateRequestId = requestId;
            return true;
        });
    }

    /// <summary>Temporal's NOT_FOUND text for a deployment that a create-version or compute-config call names.</summary>
    public static ServiceException DeploymentNotFound(string name) =>
        ServiceException.NotFound($"no Worker Deployment found with name '{name}'; does your Worker Deployment have pollers?");


    /// <summary>SetWorkerDeploymentCurrentVersion: <paramref name="buildId"/> null makes unversioned workers current. Returns the new token and the previous current build id.</summary>
    public async Task<(byte[] Token, string? Previous)> SetCurrentAsync(string namespaceId, string name, string? buildId, byte[]? conflictToken, string identity, bool allowNoPollers)
    {
        string? previous = null;
        var state = await MutateAsync(namespaceId, name, createIfMissing: false, identity, d =>
        {
            CheckWriter(d, conflictToken, identity);
            previous = d.CurrentBuildId;
            if (d.CurrentBuildId == buildId)
            {
                return false; // already current: no change, the same token
            }

            var target = buildId is null ? null : d.Find(buildId) ?? (allowNoPollers ? AddVersion(d, buildId, identity) : throw VersionNotFound(name, buildId));
            var now = Now;
            if (d.CurrentBuildId is { } old && d.Find(old) is { } oldVersion)
            {
                Deactivate(oldVersion, now);
            }

            if (d.HasRamping && d.RampingBuildId == buildId)
            {
                // The ramping version becoming current stops ramping.
                d.HasRamping = false;
                d.RampingBuildId = null;
                d.RampPercentage = 0;
                d.RampingChangedTime = now;
                d.RampPercentageChangedTime = now;
            }

            if (target is not null)
            {
                target.Status = (int)WorkerDeploymentVersionStatus.Current;
                target.CurrentSinceTime = now;
                target.RampingSinceTime = null;
                target.RoutingUpdateTime = now;
                target.FirstActivationTime ??= now;
                target.LastCurrentTime = now;
                target.LastModifierIdentity = identity;
            }

            d.CurrentBuildId = buildId;
            d.CurrentChangedTime = now;
            d.NextRoutingRevision();
            return true;
        }).ConfigureAwait(false);
        return (ConflictToken(state), previous);
    }

    /// <summary>SetWorkerDeploymentRampingVersion: <paramref name="ramp"/> false stops ramping; a null build id ramps unversioned workers. Returns the new token and the previous ramping build id and percentage.</summary>
    public async Task<(byte[] Token, string? Previous, float PreviousPercentage)> SetRampingAsync(
        string namespaceId, string name, bool ramp, string? buildId, float percentage, byte[]? conflictToken, string identity, bool allowNoPollers)
    {
        if (ramp && (percentage < 0 || percentage > 100 || float.IsNaN(percentage)))
        {
            throw ServiceException.InvalidArgument($"ramping percentage must be between 0 and 100, got {percentage}");
        }

        string? previous = null;
        float previousPercentage = 0;
        var state = await MutateAsync(namespaceId, name, createIfMissing: false, identity, d =>
        {
            CheckWriter(d, conflictToken, identity);
            previous = d.HasRamping ? d.RampingBuildId : null;
            previousPercentage = d.RampPercentage;
            var now = Now;
            if (!ramp)
            {
                if (!d.HasRamping)
                {
                    return false;
                }

                if (d.RampingBuildId is { } stopped && d.Find(stopped) is { } stoppedVersion)
                {
                    Deactivate(stoppedVersion, now);
                }

                d.HasRamping = false;
                d.RampingBuildId = null;
                d.RampPercentage = 0;
                d.RampingChangedTime = now;
                d.RampPercentageChangedTime = now;
                d.NextRoutingRevision();
                return true;
            }

            if (d.CurrentBuildId == buildId)
            {
                throw new ServiceException(ErrorKind.FailedPrecondition, $"Ramping version {Describe(name, buildId)} is already current");
            }

            if (d.HasRamping && d.RampingBuildId == buildId)
            {
                if (d.RampPercentage == percentage)
                {
                    return false;
                }

                d.RampPercentage = percentage;
                d.RampPercentageChangedTime = now;
                d.NextRoutingRevision();
                return true;
            }

            var target = buildId is null ? null : d.Find(buildId) ?? (allowNoPollers ? AddVersion(d, buildId, identity) : throw VersionNotFound(name, buildId));
            if (d.HasRamping && d.RampingBuildId is { } old && d.Find(old) is { } oldVersion)
            {
                Deactivate(oldVersion, now);
            }

            if (target is not null)
            {
                target.Status = (int)WorkerDeploymentVersionStatus.Ramping;
                target.RampingSinceTime = now;
                target.RoutingUpdateTime = now;
                target.FirstActivationTime ??= now;
                target.LastModifierIdentity = identity;
            }

            d.HasRamping = true;
            d.RampingBuildId = buildId;
            d.RampPercentage = percentage;
            d.RampingChangedTime = now;
            d.RampPercentageChangedTime = now;
            d.NextRoutingRevision();
            return true;
        }).ConfigureAwait(false);
        return (ConflictToken(state), previous, previousPercentage);
    }

    /// <summary>SetWorkerDeploymentManager: returns the new token and the previous manager.</summary>
    public async Task<(byte[] Token, string Previous)> SetManagerAsync(string namespaceId, string name, string manager, byte[]? conflictToken, string identity)
    {
        var previous = string.Empty;
        var state = await MutateAsync(namespaceId, name, createIfMissing: false, identity, d =>
        {
            CheckWriter(d, conflictToken, identity);
            previous = d.ManagerIdentity;
            if (d.ManagerIdentity == manager)
            {
                return false;
            }

            d.ManagerIdentity = manager;
            d.TokenRevision++;
            return true;
        }).ConfigureAwait(false);
        return (ConflictToken(state), previous);
    }

    /// <summary>UpdateWorkerDeploymentVersionMetadata: returns the version's metadata after the change.</summary>
    public async Task<Dictionary<string, byte[]>> UpdateMetadataAsync(
        string namespaceId, DeploymentVersionId version, IReadOnlyDictionary<string, byte[]> upserts, IReadOnlyList<string> removes, string identity)
    {
        var state = await MutateAsync(namespaceId, version.DeploymentName, createIfMissing: false, identity, d =>
        {
            var entry = d.Find(version.BuildId) ?? throw ServiceException.NotFound("Worker Deployment Version not found");
            foreach (var (key, value) in upserts)
            {
                entry.Metadata[key] = value;
            }

            foreach (var key in removes)
            {
                entry.Metadata.Remove(key);
            }

            entry.LastModifierIdentity = identity;
            return true;
        }).ConfigureAwait(false);
        return state.Find(version.BuildId)!.Metadata;
    }

    /// <summary>
    /// DeleteWorkerDeploymentVersion: refused while the version is current or ramping, while its workers still poll
    /// (<paramref name="hasPollers"/>), or while it drains unless <paramref name="skipDrainage"/>.
    /// </summary>
    public Task DeleteVersionAsync(string namespaceId, DeploymentVersionId version, bool skipDrainage, string identity, Func<IEnumerable<VersionTaskQueue>, bool> hasPollers)
    {
        ArgumentNullException.ThrowIfNull(hasPollers);
        return MutateAsync(namespaceId, version.DeploymentName, createIfMissing: false, identity, d =>
        {
            var entry = d.Find(version.BuildId) ?? throw ServiceException.NotFound("Worker Deployment Version not found");
            if (d.CurrentBuildId == version.BuildId || (d.HasRamping && d.RampingBuildId == version.BuildId))
            {
                throw new ServiceException(ErrorKind.FailedPrecondition, $"version {version.Canonical} is current or ramping and cannot be deleted");
            }

            if (!skipDrainage && entry.Status == (int)WorkerDeploymentVersionStatus.Draining)
            {
                throw new ServiceException(ErrorKind.FailedPrecondition, $"version {version.Canonical} is draining and cannot be deleted; set skip_drainage to delete it anyway");
            }

            if (hasPollers(entry.TaskQueues))
            {
                throw new ServiceException(ErrorKind.FailedPrecondition, $"version {version.Canonical} still has active pollers and cannot be deleted");
            }

            d.Versions.Remove(entry);
            return true;
        });
    }

    /// <summary>DeleteWorkerDeployment: only a deployment without versions (Temporal's rule).</summary>
    public async Task DeleteAsync(string namespaceId, string name, string identity)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = _deployments.TryGetValue((namespaceId, name), out var d) ? d : throw ServiceException.NotFound("Worker Deployment not found");
            CheckManager(current, identity);
            if (current.Versions.Count > 0)
            {
                throw new ServiceException(ErrorKind.FailedPrecondition, $"deployment {name} has {current.Versions.Count} versions and cannot be deleted; delete its versions first");
            }

            await WriteAsync(namespaceId, current, current.Version, deletes: true).ConfigureAwait(false);
            _deployments.TryRemove((namespaceId, name), out _);
            RebuildIndex();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private DeploymentVersionState AddVersion(WorkerDeploymentState d, string buildId, string identity)
    {
        DeploymentVersionId.Validate(buildId, "build_id");
        var entry = new DeploymentVersionState { BuildId = buildId, CreateTime = Now, LastModifierIdentity = identity };
        d.Versions.Add(entry);
        return entry;
    }

    private static void Deactivate(DeploymentVersionState version, DateTime now)
    {
        version.Status = (int)WorkerDeploymentVersionStatus.Draining;
        version.CurrentSinceTime = null;
        version.RampingSinceTime = null;
        version.RoutingUpdateTime = now;
        version.LastDeactivationTime = now;
    }

    private static void CheckWriter(WorkerDeploymentState d, byte[]? conflictToken, string identity)
    {
        if (conflictToken is { Length: > 0 } && !conflictToken.AsSpan().SequenceEqual(ConflictToken(d)))
        {
            throw new ServiceException(ErrorKind.FailedPrecondition, "conflict token mismatch: the deployment changed since it was read");
        }

        CheckManager(d, identity);
    }

    private static void CheckManager(WorkerDeploymentState d, string identity)
    {
        if (d.ManagerIdentity.Length > 0 && d.ManagerIdentity != identity)
        {
            throw new ServiceException(
                ErrorKind.FailedPrecondition,
                $"ManagerIdentity '{d.ManagerIdentity}' is set and does not match user identity '{identity}'; to proceed, set your own identity as the ManagerIdentity, or remove the ManagerIdentity from the Worker Deployment");
        }
    }

    private static ServiceException VersionNotFound(string name, string buildId) =>
        ServiceException.NotFound($"Worker Deployment Version {name}.{buildId} not found");

    private static string Describe(string name, string? buildId) => buildId is null ? DeploymentVersionId.Unversioned : $"{name}.{buildId}";

    private static DateTime LastRoutingChange(WorkerDeploymentState d) =>
        new[] { d.CurrentChangedTime ?? DateTime.MinValue, d.RampingChangedTime ?? DateTime.MinValue, d.RampPercentageChangedTime ?? DateTime.MinValue }.Max();

    /// <summary>
    /// Applies <paramref name="change"/> to a copy of the deployment under the write lock and commits it (when it says
    /// it changed something); the cache takes the copy once committed. Returns the deployment as it now is.
    /// </summary>
    private async Task<WorkerDeploymentState> MutateAsync(string namespaceId, string name, bool createIfMissing, string? identity, Func<WorkerDeploymentState, bool> change)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var existing = _deployments.TryGetValue((namespaceId, name), out var d) ? d : null;
            if (existing is null && !createIfMissing)
            {
                throw ServiceException.NotFound("Worker Deployment not found");
            }

            var next = existing?.Clone() ?? Created(name, Now);
            if (!change(next))
            {
                return existing ?? throw new InvalidOperationException("A new deployment must change.");
            }

            var routing = existing is null || existing.RevisionNumber != next.RevisionNumber;
            next.Version = (existing?.Version ?? 0) + 1;
            if (identity is not null)
            {
                next.LastModifierIdentity = identity;
            }

            await WriteAsync(namespaceId, next, existing?.Version ?? 0, deletes: false).ConfigureAwait(false);
            _deployments[(namespaceId, name)] = next;
            RebuildIndex();
            if (routing)
            {
                RoutingChanged?.Invoke(namespaceId, QueuesOf(next));
            }

            return next;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>One transition through the one writer; rejected (another node changed the row): the cache is re-read and the caller told to read again.</summary>
    private async Task WriteAsync(string namespaceId, WorkerDeploymentState state, long expectedVersion, bool deletes)
    {
        var key = codec.Index(namespaceId, RecordIdentities.WorkerDeploymentNameIndex, state.Name);
        var data = codec.Encode(RecordIdentities.WorkerDeployment(namespaceId, key), state.Serialize());
        try
        {
            await committer.CommitAsync(new Transition([])
            {
                WorkerDeployment = new WorkerDeploymentWrite(new WorkerDeploymentRecord(namespaceId, key, deletes ? expectedVersion : state.Version, data), expectedVersion, deletes),
            }).ConfigureAwait(false);
        }
        catch (ConditionFailedException)
        {
            await ReadStoreAsync(CancellationToken.None).ConfigureAwait(false);
            throw new ServiceException(ErrorKind.FailedPrecondition, $"worker deployment {state.Name} changed on another server: read it again and retry");
        }
    }

    private static List<string> QueuesOf(WorkerDeploymentState d) => [.. d.Versions.SelectMany(v => v.TaskQueues).Select(q => q.Name).Distinct(StringComparer.Ordinal)];

    /// <summary>Re-reads the store: picks up deployments changed by another node on the same database.</summary>
    public Task RefreshAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    private void RebuildIndex()
    {
        var index = new Dictionary<(string, string), HashSet<string>>();
        foreach (var ((ns, name), d) in _deployments)
        {
            foreach (var queue in d.Versions.SelectMany(v => v.TaskQueues))
            {
                if (!index.TryGetValue((ns, queue.Name), out var names))
                {
                    index[(ns, queue.Name)] = names = new HashSet<string>(StringComparer.Ordinal);
                }

                names.Add(name);
            }
        }

        _byQueue = index.ToDictionary(e => e.Key, e => e.Value.ToArray());
    }
}
