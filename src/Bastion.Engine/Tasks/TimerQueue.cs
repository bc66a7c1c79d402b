using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Engine.Tasks;

/// <summary>
/// Holds durable tasks until they are due, then hands them to the engine. Time comes from the injected
/// <see cref="TimeProvider"/>. The tasks themselves are rows in the store; this is only the alarm clock.
/// </summary>
internal sealed partial class TimerQueue : IAsyncDisposable
{
    private readonly PriorityQueue<TaskRecord, DateTime> _queue = new();
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Func<TaskRecord, Task> _fire;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _disposed;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TimerQueue(TimeProvider time, Func<TaskRecord, Task> fire, ILogger logger)
    {
        _time = time;
        _fire = fire;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    public void Add(TaskRecord task)
    {
        ArgumentNullException.ThrowIfNull(task);
        lock (_lock)
        {
            var wasFirst = !_queue.TryPeek(out _, out var first) || task.VisibleTime < first;
            _queue.Enqueue(task, task.VisibleTime);
            if (wasFirst)
            {
                _wake.TrySetResult();
            }
        }
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TimeSpan wait;
            Task wake;
            var due = new List<TaskRecord>();
            lock (_lock)
            {
                var now = _time.GetUtcNow().UtcDateTime;
                while (_queue.TryPeek(out var task, out var at) && at <= now)
                {
                    _queue.Dequeue();
                    due.Add(task);
                }

                wait = _queue.TryPeek(out _, out var next) ? next - now : Timeout.InfiniteTimeSpan;
                if (_wake.Task.IsCompleted)
                {
                    _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                wake = _wake.Task;
            }

            foreach (var task in due)
            {
                _ = FireAsync(task);
            }

            if (due.Count > 0)
            {
                continue;
            }

            try
            {
                await Task.WhenAny(wake, Task.Delay(wait, _time, _stop.Token)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task FireAsync(TaskRecord task)
    {
        try
        {
            await _fire(task).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A task that fails is retried later rather than lost.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogTaskFailed(_logger, e, (TaskKind)task.Kind, task.WorkflowId, task.RunId);
            if (!_stop.IsCancellationRequested)
            {
                Add(task with { VisibleTime = _time.GetUtcNow().UtcDateTime.AddSeconds(1) });
            }
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Task {Kind} of workflow {WorkflowId} run {RunId} failed; retrying in 1s.")]
    private static partial void LogTaskFailed(ILogger logger, Exception e, TaskKind kind, string workflowId, string runId);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
