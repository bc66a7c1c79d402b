using System.Collections.Concurrent;
using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Namespaces;
using Bastion.Engine.Tasks;
using Bastion.Engine.Visibility;
using Bastion.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Temporalio.Api.Batch.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.Batch;

/// <summary>
/// Batch operations (docs/batch-operations.md): a job applies one operation to the workflow runs (or standalone
/// activities) a visibility query or an explicit list selects, through the engine's own paths, at a bounded rate. A job is a row
/// in the store (<see cref="IBatchStore"/>) holding its encoded request, progress counts and a cursor written after
/// every operation, so a restart resumes where it stopped. Temporal runs these as a system workflow; here a job is
/// a background loop per running job.
/// </summary>
internal sealed partial class BatchOperations(
    HistoryEngine engine,
    VisibilityReader visibility,
    NamespaceRegistry namespaces,
    IBatchStore store,
    IRecordCodec codec,
    TimeProvider time,
    ILogger<BatchOperations> logger) : IAsyncDisposable
{
    /// <summary>Temporal's <c>frontend.MaxConcurrentBatchOperationPerNamespace</c> default.</summary>
    public const int MaxConcurrentPerNamespace = 1;

    /// <summary>Temporal's <c>frontend.MaxExecutionCountBatchOperationPerNamespace</c> default.</summary>
    public const int MaxExecutions = 1000;

    /// <summary>Temporal's <c>worker.batcherRPS</c> default, used when the request sets no rate.</summary>
    public const float DefaultOperationsPerSecond = 50;

    private readonly ConcurrentDictionary<(string Ns, string JobKey), RunningJob> _running = new();
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private readonly CancellationTokenSource _shutdown = new();

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    public async Task StartAsync(NamespaceEntry ns, StartBatchOperationRequest request)
    {
        ArgumentNullException.ThrowIfNull(ns);
        ArgumentNullException.ThrowIfNull(request);
        Validate(request);
        var query = TargetQuery(request);
        long total = LegacyExecutions(request).Count + request.TargetExecutions.Count;
        if (query != null)
        {
            // Also proves the query parses and binds: a bad one is INVALID_ARGUMENT naming the position now, not a failed job later.
            total = TargetsStandaloneActivities(request)
                ? (await visibility.CountActivitiesAsync(ns, query).ConfigureAwait(false)).Count
                : (await visibility.CountAsync(ns, query).ConfigureAwait(false)).Count;
        }

        var jobKey = JobKey(ns.Id, request.JobId);
        var shard = engine.ShardOf(ns.Id, request.JobId);
        engine.EnsureOwnsShard(shard);
        var record = new BatchRecord(
            ns.Id, jobKey, (int)BatchOperationState.Running, Now, null, total, 0, 0, null,
            codec.Encode(RecordIdentities.BatchOperation(ns.Id, jobKey), request.ToByteArray())) { ShardId = shard };
        await _startLock.WaitAsync().ConfigureAwait(false);
        try
        {
            // Jobs past retention are gone (Temporal's batch workflows are), so their ids can be used again.
            await store.DeleteClosedBatchesAsync(ns.Id, Now - ns.Retention, CancellationToken.None).ConfigureAwait(false);
            if (await store.GetBatchAsync(ns.Id, jobKey, CancellationToken.None).ConfigureAwait(false) != null)
            {
                throw new ServiceException(ErrorKind.AlreadyExists, $"Batch operation {ServiceException.Quote(request.JobId)} already exists.");
            }

            if (await store.CountRunningBatchesAsync(ns.Id, CancellationToken.None).ConfigureAwait(false) >= MaxConcurrentPerNamespace)
            {
                throw new ServiceException(ErrorKind.ResourceExhausted, "Max concurrent batch operations is reached");
            }

            if (!await store.InsertBatchAsync(record, CancellationToken.None).ConfigureAwait(false))
            {
                throw new ServiceException(ErrorKind.AlreadyExists, $"Batch operation {ServiceException.Quote(request.JobId)} already exists.");
            }

            Launch(record, request);
        }
        finally
        {
            _startLock.Release();
        }
    }

    public async Task<DescribeBatchOperationResponse> DescribeAsync(NamespaceEntry ns, string jobId)
    {
        ArgumentNullException.ThrowIfNull(ns);
        RequireJobId(jobId);
        var record = await store.GetBatchAsync(ns.Id, JobKey(ns.Id, jobId), CancellationToken.None).ConfigureAwait(false) is { } found && !Expired(ns, found)
            ? found
            : throw ServiceException.NotFound($"Batch operation {ServiceException.Quote(jobId)} not found.");
        var request = RequestOf(record);
        var response = new DescribeBatchOperationResponse
        {
            OperationType = OperationTypeOf(request),
            JobId = request.JobId,
            State = (BatchOperationState)record.State,
            StartTime = Timestamp.FromDateTime(record.StartTime),
            CloseTime = record.CloseTime is { } close ? Timestamp.FromDateTime(close) : null,
            Identity = IdentityOf(request),
            Reason = request.Reason,
            Query = request.VisibilityQuery,
            TotalOperationCount = record.State == (int)BatchOperationState.Completed ? record.Completed + record.Failed : record.Total,
            CompleteOperationCount = record.Completed,
            FailureOperationCount = record.Failed,
        };
        response.Executions.AddRange(request.TargetExecutions);
        foreach (var execution in LegacyExecutions(request))
        {
            response.Executions.Add(new Temporalio.Api.Common.V1.Execution
            {
                Type = TargetTypeOf(request),
                BusinessId = execution.WorkflowId,
                RunId = execution.RunId,
            });
        }

        return response;
    }

    public async Task<ListBatchOperationsResponse> ListAsync(NamespaceEntry ns, int pageSize, ByteString? pageToken)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var size = pageSize <= 0 || pageSize > VisibilityReader.MaxPageSize ? VisibilityReader.MaxPageSize : pageSize;
        var records = await store.ListBatchesAsync(ns.Id, size, DecodeToken(pageToken), CancellationToken.None).ConfigureAwait(false);
        var response = new ListBatchOperationsResponse();
        foreach (var record in records.Where(r => !Expired(ns, r)))
        {
            var request = RequestOf(record);
            response.OperationInfo.Add(new BatchOperationInfo
            {
                JobId = request.JobId,
                State = (BatchOperationState)record.State,
                StartTime = Timestamp.FromDateTime(record.StartTime),
                CloseTime = record.CloseTime is { } close ? Timestamp.FromDateTime(close) : null,
                OperationType = OperationTypeOf(request),
            });
        }

        if (records.Count == size)
        {
            var last = records[^1];
            response.NextPageToken = ByteString.CopyFromUtf8(FormattableString.Invariant($"b1:{last.StartTime.Ticks}:{last.JobKey}"));
        }

        return response;
    }

    /// <summary>Stops a running job: it ends FAILED (Temporal terminates its batch workflow); operations done stay done.</summary>
    public async Task StopAsync(NamespaceEntry ns, StopBatchOperationRequest request)
    {
        ArgumentNullException.ThrowIfNull(ns);
        ArgumentNullException.ThrowIfNull(request);
        RequireJobId(request.JobId);
        RequireReason(request.Reason);
        var jobKey = JobKey(ns.Id, request.JobId);
        var record = await store.GetBatchAsync(ns.Id, jobKey, CancellationToken.None).ConfigureAwait(false) is { } found && !Expired(ns, found)
            ? found
            : throw ServiceException.NotFound($"Batch operation {ServiceException.Quote(request.JobId)} not found.");
        if (_running.TryGetValue((ns.Id, jobKey), out var job))
        {
            // Wait for the operation in flight, so the counts written with the stop are final.
            await job.StopAsync().ConfigureAwait(false);
            record = (await store.GetBatchAsync(ns.Id, jobKey, CancellationToken.None).ConfigureAwait(false))!;
        }

        if (!await store.UpdateRunningBatchAsync(ns.Id, jobKey, (int)BatchOperationState.Failed, Now, record.Total, record.Completed, record.Failed, record.Cursor, CancellationToken.None).ConfigureAwait(false))
        {
            throw ServiceException.NotFound("Batch operation already completed.");
        }
    }

    /// <summary>
    /// Resumes every job of the shards this process owns that was running when the server stopped, from its last
    /// recorded cursor (the shard-0 owner also those started before jobs had shards); a shard lost later stops its jobs.
    /// </summary>
    public async Task ResumeAllAsync(CancellationToken cancellationToken)
    {
        engine.ShardLost += OnShardLost;
        engine.ShardAcquired += shard => ResumeShardAsync(shard, CancellationToken.None);
        namespaces.Removed += OnNamespaceRemoved;
        foreach (var shard in engine.OwnedShards)
        {
            await ResumeShardAsync(shard, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Resumes a shard's running jobs (at start, or when the shard is taken later); a job already running here is left as it is.</summary>
    private async Task ResumeShardAsync(int shard, CancellationToken cancellationToken)
    {
        foreach (var record in await store.RunningBatchesAsync(shard, withUnassigned: shard == 0, cancellationToken).ConfigureAwait(false))
        {
            if (namespaces.IsDeleted(record.NamespaceId))
            {
                continue; // purged with its namespace
            }

            try
            {
                Launch(record, RequestOf(record));
            }
#pragma warning disable CA1031 // One unreadable job must not keep the others from resuming.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogResumeFailed(logger, e, record.JobKey);
            }
        }
    }

    /// <summary>The shard stopped being served here: its jobs stop here (their rows say where the new owner resumes them).</summary>
    private void OnShardLost(int shard)
    {
        foreach (var job in _running.Values)
        {
            if (job.ShardId == shard)
            {
                _ = Detached.Start(job.StopAsync);
            }
        }
    }

    /// <summary>A namespace was deleted: its jobs stop here (their rows are purged with it).</summary>
    private void OnNamespaceRemoved(string namespaceId)
    {
        foreach (var (key, job) in _running)
        {
            if (key.Ns == namespaceId)
            {
                _ = Detached.Start(job.StopAsync);
            }
        }
    }

    /// <summary>A job that ended longer ago than the namespace's retention is gone, though its row may linger until the next start.</summary>
    private bool Expired(NamespaceEntry ns, BatchRecord record) => record.CloseTime is { } closed && closed + ns.Retention <= Now;

    private string JobKey(string namespaceId, string jobId) => codec.Index(namespaceId, RecordIdentities.BatchJobIdIndex, jobId);

    private StartBatchOperationRequest RequestOf(BatchRecord record) =>
        StartBatchOperationRequest.Parser.ParseFrom(codec.Decode(RecordIdentities.BatchOperation(record.NamespaceId, record.JobKey), record.Request));

    private static (long, string)? DecodeToken(ByteString? token)
    {
        if (token is null || token.IsEmpty)
        {
            return null;
        }

        var parts = token.ToStringUtf8().Split(':', 3);
        return parts.Length == 3 && parts[0] == "b1" && long.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var ticks)
            ? (ticks, parts[2])
            : throw ServiceException.InvalidArgument("Invalid NextPageToken.");
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync().ConfigureAwait(false);
        foreach (var job in _running.Values)
        {
            await job.Completion.ConfigureAwait(false);
        }

        _shutdown.Dispose();
        _startLock.Dispose();
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Error, Message = "Batch job {JobKey} could not be resumed.")]
    private static partial void LogResumeFailed(ILogger logger, Exception e, string jobKey);
}
