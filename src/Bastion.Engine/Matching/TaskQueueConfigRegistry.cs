using System.Collections.Concurrent;
using Bastion.Engine.Errors;
using Bastion.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.Matching;

/// <summary>
/// Task queue configurations set by UpdateTaskQueueConfig (issue 21), durable in the store and cached here: per task
/// queue and type, the queue rate limit, the fairness-key default rate limit and the fairness weight overrides, each
/// limit with who set it, why and when (Temporal keeps the same in the queue's user data). Matching enforces the queue
/// rate limit of activity queues (<see cref="MatchingEngine.ConfiguredRate"/>) and the fairness-key limit and weight
/// overrides of both types (<see cref="MatchingEngine.ConfiguredFairness"/>). A change is announced
/// (<see cref="Changed"/>); other nodes of a cluster pick it up when they re-read the store (<see cref="RefreshAsync"/>).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore never allocates its wait handle (only WaitAsync is used).")]
public sealed class TaskQueueConfigRegistry(IStorageProvider store, GroupCommitter committer, IRecordCodec codec, TimeProvider time)
{
    /// <summary>Temporal's limit on fairness weight overrides per queue (<c>matching.maxFairnessKeyWeightOverrides</c>).</summary>
    public const int MaxFairnessWeightOverrides = 1000;

    private readonly ConcurrentDictionary<(string Ns, string Name, TaskQueueType Type), Entry> _configs = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    /// <summary>A queue's configuration changed (namespace id, queue name).</summary>
    public event Action<string, string>? Changed;

    private sealed record Entry(long Version, TaskQueueConfig Config);

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

    /// <summary>Re-reads the store: picks up configurations changed by another node on the same database.</summary>
    public Task RefreshAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    /// <summary>The queue's configuration (a copy); null when none was ever set.</summary>
    public TaskQueueConfig? Get(string namespaceId, string name, TaskQueueType type) =>
        _configs.TryGetValue((namespaceId, name, type), out var entry) ? entry.Config.Clone() : null;

    /// <summary>The queue rate limit set for an activity queue, if any.</summary>
    public double? QueueRateLimit(string namespaceId, string name) =>
        _configs.TryGetValue((namespaceId, name, TaskQueueType.Activity), out var entry) && entry.Config.QueueRateLimit?.RateLimit is { } limit
            ? limit.RequestsPerSecond : null;

    /// <summary>The fairness-key default rate limit (whole queue) and the fairness weight overrides set for a queue, if any.</summary>
    public (double? KeyRate, IReadOnlyDictionary<string, float>? Overrides) Fairness(string namespaceId, string name, TaskCategory type)
    {
        if (!_configs.TryGetValue((namespaceId, name, type == TaskCategory.Activity ? TaskQueueType.Activity : TaskQueueType.Workflow), out var entry))
        {
            return default;
        }

        var config = entry.Config;
        return (config.FairnessKeysRateLimitDefault?.RateLimit is { } limit ? limit.RequestsPerSecond : null,
            config.FairnessWeightOverrides.Count > 0 ? new Dictionary<string, float>(config.FairnessWeightOverrides, StringComparer.Ordinal) : null);
    }

    /// <summary>
    /// Applies an UpdateTaskQueueConfig request (validated by the caller) and commits it; the configuration as it now is.
    /// A request that changes nothing answers the current configuration without a write, as Temporal's.
    /// </summary>
    public async Task<TaskQueueConfig> UpdateAsync(string namespaceId, UpdateTaskQueueConfigRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = (namespaceId, request.TaskQueue, request.TaskQueueType);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var existing = _configs.TryGetValue(key, out var e) ? e : null;
            var config = existing?.Config.Clone() ?? new TaskQueueConfig();
            var now = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            if (request.UpdateQueueRateLimit is { } queueLimit)
            {
                config.QueueRateLimit = Limit(queueLimit, now, request.Identity);
            }

            if (request.UpdateFairnessKeyRateLimitDefault is { } keyLimit)
            {
                config.FairnessKeysRateLimitDefault = Limit(keyLimit, now, request.Identity);
            }

            foreach (var unset in request.UnsetFairnessWeightOverrides)
            {
                config.FairnessWeightOverrides.Remove(unset);
            }

            config.FairnessWeightOverrides.Add(request.SetFairnessWeightOverrides);
            if (config.FairnessWeightOverrides.Count > MaxFairnessWeightOverrides)
            {
                throw ServiceException.InvalidArgument("fairness weight overrides update rejected: exceeding maximum key size");
            }

            if (config.Equals(existing?.Config ?? new TaskQueueConfig()))
            {
                return config; // nothing to change: no write
            }

            var version = (existing?.Version ?? 0) + 1;
            await WriteAsync(namespaceId, request.TaskQueue, request.TaskQueueType, config, version, existing?.Version ?? 0).ConfigureAwait(false);
            _configs[key] = new Entry(version, config);
        }
        finally
        {
            _writeLock.Release();
        }

        Changed?.Invoke(namespaceId, request.TaskQueue);
        return Get(namespaceId, request.TaskQueue, request.TaskQueueType)!;
    }

    /// <summary>A limit as Temporal records it: the rate (absent: no limit) with the reason, identity and time of the change.</summary>
    private static RateLimitConfig Limit(UpdateTaskQueueConfigRequest.Types.RateLimitUpdate update, Timestamp now, string identity) => new()
    {
        RateLimit = update.RateLimit is { } limit ? new RateLimit { RequestsPerSecond = limit.RequestsPerSecond } : null,
        Metadata = new ConfigMetadata { Reason = update.Reason, UpdateIdentity = identity, UpdateTime = now },
    };

    private async Task WriteAsync(string namespaceId, string name, TaskQueueType type, TaskQueueConfig config, long version, long expected)
    {
        var key = KeyOf(namespaceId, name, type);
        var data = codec.Encode(RecordIdentities.TaskQueueConfig(namespaceId, key), Serialize(name, type, config));
        try
        {
            await committer.CommitAsync(new Transition([])
            {
                TaskQueueConfig = new TaskQueueConfigWrite(new TaskQueueConfigRecord(namespaceId, key, version, data), expected),
            }).ConfigureAwait(false);
        }
        catch (ConditionFailedException)
        {
            await ReadStoreAsync(CancellationToken.None).ConfigureAwait(false);
            throw new ServiceException(ErrorKind.Unavailable, $"the configuration of task queue {name} changed on another server: retry");
        }
    }

    private string KeyOf(string namespaceId, string name, TaskQueueType type) =>
        $"{codec.Index(namespaceId, RecordIdentities.TaskQueueConfigNameIndex, name)}/{(int)type}";

    /// <summary>The cache replaced by the store's rows; under the write lock. Queues whose configuration moved are announced.</summary>
    private async Task ReadStoreAsync(CancellationToken cancellationToken)
    {
        var stored = await store.TaskQueueConfigs.ListTaskQueueConfigsAsync(cancellationToken).ConfigureAwait(false);
        var changed = new List<(string Ns, string Name)>();
        foreach (var record in stored)
        {
            var (name, type, config) = Deserialize(codec.Decode(RecordIdentities.TaskQueueConfig(record.NamespaceId, record.Key), record.Data));
            var key = (record.NamespaceId, name, type);
            if (!_configs.TryGetValue(key, out var cached) || cached.Version != record.Version)
            {
                _configs[key] = new Entry(record.Version, config);
                changed.Add((record.NamespaceId, name));
            }
        }

        foreach (var (ns, name) in changed)
        {
            Changed?.Invoke(ns, name);
        }
    }

    private static byte[] Serialize(string name, TaskQueueType type, TaskQueueConfig config)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            writer.Write(name);
            writer.Write((int)type);
            var bytes = config.ToByteArray();
            writer.Write(bytes.Length);
            writer.Write(bytes);
        }

        return buffer.ToArray();
    }

    private static (string Name, TaskQueueType Type, TaskQueueConfig Config) Deserialize(byte[] data)
    {
        using var reader = new BinaryReader(new MemoryStream(data));
        var name = reader.ReadString();
        var type = (TaskQueueType)reader.ReadInt32();
        var config = TaskQueueConfig.Parser.ParseFrom(reader.ReadBytes(reader.ReadInt32()));
        return (name, type, config);
    }
}
