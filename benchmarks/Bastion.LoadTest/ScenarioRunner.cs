using System.Collections.Concurrent;
using System.Diagnostics;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Bastion.LoadTest;

/// <summary>What one batch of workflows did.</summary>
internal sealed record BatchResult(int Requested, int Completed, int Errors, TimeSpan Wall, double[] LatenciesMs, IReadOnlyDictionary<string, int> ErrorCounts)
{
    public double Throughput => Completed / Wall.TotalSeconds;

    /// <summary>Nearest-rank percentile of the successful workflows' latencies, in ms (NaN if none).</summary>
    public double Percentile(double p)
    {
        if (LatenciesMs.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100.0 * LatenciesMs.Length);
        return LatenciesMs[Math.Clamp(rank - 1, 0, LatenciesMs.Length - 1)];
    }
}

/// <summary>
/// Runs N workflows with at most C in flight: each one is StartWorkflowExecution then a wait for its result
/// (the SDK's long poll on GetWorkflowExecutionHistory); latency is measured from before the start call to
/// the result. With eager start the worker of the same client may get the first workflow task in the start's answer.
/// The call scenarios make one call each instead (<see cref="CallAsync"/>).
/// </summary>
internal sealed class ScenarioRunner(TemporalClient client, string taskQueue, TimeSpan workflowTimeout, int maxErrors, bool eagerStart)
{
    public static string WorkflowType(string scenario) => scenario switch
    {
        "activity" => nameof(OneActivityWorkflow),
        "noactivity" => nameof(EchoWorkflow),
        "timers" => nameof(TimerWorkflow),
        _ when IsCall(scenario) => nameof(EchoWorkflow),
        _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, "Unknown scenario."),
    };

    /// <summary>A scenario of single calls (each "workflow" of it is one call).</summary>
    public static bool IsCall(string scenario) => scenario is "systeminfo" or "describe" or "start";

    /// <summary>
    /// One call of a call scenario, as the SDK's client sends it. A start goes to a task queue no
    /// worker polls, so the call's cost is the start's alone (its first workflow task waits in the store).
    /// </summary>
    private Task CallAsync(string scenario, string id, RpcOptions rpc) => scenario switch
    {
        "systeminfo" => client.WorkflowService.GetSystemInfoAsync(new(), rpc),
        "describe" => client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = client.Options.Namespace }, rpc),
        _ => client.StartWorkflowAsync(WorkflowType(scenario), ["call"], new WorkflowOptions(id, taskQueue + "-unpolled") { Rpc = rpc }),
    };

    private static string CallName(string scenario) => scenario switch
    {
        "systeminfo" => "GetSystemInfo",
        "describe" => "DescribeNamespace",
        _ => "StartWorkflowExecution",
    };

    private static string Expected(string scenario, string input) => scenario == "activity" ? BenchActivities.Greet(input) : input;

    public async Task<BatchResult> RunAsync(string scenario, string idPrefix, int count, int concurrency, CancellationToken abort)
    {
        var workflowType = WorkflowType(scenario);
        var latencies = new double[count];
        Array.Fill(latencies, double.NaN);
        var errorCounts = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var errors = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        using var slots = new SemaphoreSlim(concurrency, concurrency);
        var running = new List<Task>(count);

        async Task OneAsync(int i)
        {
            var id = $"{idPrefix}-{i}";
            var input = "wf" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var phase = "StartWorkflowExecution";
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            timeout.CancelAfter(workflowTimeout);
            var rpc = new RpcOptions { CancellationToken = timeout.Token };
            try
            {
                var started = Stopwatch.GetTimestamp();
                if (IsCall(scenario))
                {
                    phase = CallName(scenario);
                    await CallAsync(scenario, id, rpc);
                    latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    return;
                }

                var handle = await client.StartWorkflowAsync(
                    workflowType,
                    [input],
                    new WorkflowOptions(id, taskQueue) { Rpc = rpc, RequestEagerStart = eagerStart });
                if (scenario == "timers")
                {
                    // Open until its timer fires in an hour: done here once the timer is started (the fifth event).
                    phase = "DescribeWorkflowExecution (timer started)";
                    while ((await handle.DescribeAsync(new() { Rpc = rpc })).HistoryLength < 5)
                    {
                        await Task.Delay(50, timeout.Token);
                    }

                    latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    return;
                }

                phase = "GetWorkflowExecutionHistory (result)";
                var result = await handle.GetResultAsync<string>(rpcOptions: rpc);
                var elapsed = Stopwatch.GetElapsedTime(started);
                if (result != Expected(scenario, input))
                {
                    throw new InvalidOperationException($"wrong result '{result}'");
                }

                latencies[i] = elapsed.TotalMilliseconds;
            }
#pragma warning disable CA1031 // Every failure of a workflow is counted and reported, whatever its type.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                var key = Describe(phase, ex, timeout.IsCancellationRequested && !stop.IsCancellationRequested);
                errorCounts.AddOrUpdate(key, 1, (_, n) => n + 1);
                if (Interlocked.Increment(ref errors) >= maxErrors)
                {
                    await stop.CancelAsync();
                }
            }
            finally
            {
                slots.Release();
            }
        }

        var wall = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            try
            {
                await slots.WaitAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            running.Add(OneAsync(i));
        }

        await Task.WhenAll(running);
        wall.Stop();
        var ok = latencies.Where(l => !double.IsNaN(l)).Order().ToArray();
        return new BatchResult(count, ok.Length, errors, wall.Elapsed, ok, errorCounts);

        string Describe(string phase, Exception ex, bool timedOut)
        {
            if (timedOut)
            {
                return $"{phase}: no answer within {workflowTimeout.TotalSeconds:0}s ({ex.GetType().Name})";
            }

            if (stop.IsCancellationRequested && ex is OperationCanceledException or RpcException { Code: RpcException.StatusCode.Cancelled })
            {
                return $"{phase}: abandoned (scenario stopped)";
            }

            return ex switch
            {
                RpcException rpc => $"{phase}: RpcException {rpc.Code}: {rpc.Message}",
                WorkflowFailedException wf => $"{phase}: WorkflowFailedException: {wf.InnerException?.GetType().Name}: {wf.InnerException?.Message}",
                _ => $"{phase}: {ex.GetType().Name}: {ex.Message}",
            };
        }
    }
}
