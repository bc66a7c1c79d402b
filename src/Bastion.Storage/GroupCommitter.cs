using System.Threading.Channels;

namespace Bastion.Storage;

/// <summary>
/// One writer loop: takes the transitions of many workflows as they arrive and commits them together in one
/// transaction (one fsync per batch). Each caller awaits its own write.
/// </summary>
public sealed class GroupCommitter : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly IExecutionStore _store;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new() { SingleReader = true });
    private readonly Task _loop;
    private long _batches;
    private long _writes;

    public GroupCommitter(IExecutionStore store)
    {
        _store = store;
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Batches committed so far, and writes in them (for benchmarks and diagnostics).</summary>
    public (long Batches, long Writes) Counters => (Interlocked.Read(ref _batches), Interlocked.Read(ref _writes));

    /// <summary>Commits one transition: its writes land together or not at all.</summary>
    public Task CommitAsync(IReadOnlyList<ExecutionWrite> transition)
    {
        var pending = new Pending(transition, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);

        return pending.Done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var writes = new List<IReadOnlyList<ExecutionWrite>>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            writes.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                writes.Add(pending.Write);
            }

            IReadOnlyList<Exception?> results;
            try
            {
                results = _store.Commit(writes);
            }
#pragma warning disable CA1031 // A failed transaction fails every caller in it; the loop must go on.
            catch (Exception e)
#pragma warning restore CA1031
            {
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(e);
                }

                continue;
            }

            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _writes, batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                if (results[i] is { } error)
                {
                    batch[i].Done.TrySetException(error);
                }
                else
                {
                    batch[i].Done.TrySetResult();
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private sealed record Pending(IReadOnlyList<ExecutionWrite> Write, TaskCompletionSource Done);
}
