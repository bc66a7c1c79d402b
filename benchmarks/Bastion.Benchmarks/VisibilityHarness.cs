using System.Diagnostics;
using Bastion.Storage;
using Bastion.Storage.Sqlite;
using Bastion.Visibility;
using Bastion.Visibility.Query;
using Microsoft.Data.Sqlite;

namespace Bastion.Benchmarks;

/// <summary>
/// Visibility query latency on a store holding 100,000 closed runs (rows inserted directly): first page of a list
/// filtered on an indexed attribute, and counts. Prints p50/p99 in milliseconds.
/// </summary>
internal static class VisibilityHarness
{
    private const int Rows = 100_000;
    private const string Namespace = "bench-ns";

    public static void Run()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bastion-vis-{Guid.NewGuid():N}.db");
        using (var store = SqliteStorageProvider.OpenFile(file))
        {
            store.MigrateAsync(4, CancellationToken.None).GetAwaiter().GetResult();
        }

        Insert(file);
        using var reader = SqliteStorageProvider.OpenFile(file);
        reader.MigrateAsync(4, CancellationToken.None).GetAwaiter().GetResult();
        Measure("list first page (100), WorkflowType = 'type-7'", 200, () =>
            reader.ListVisibilityAsync(new VisibilityPageRequest(Namespace, Bind("WorkflowType = 'type-7'", false), 100, null), CancellationToken.None).GetAwaiter().GetResult().Count);
        Measure("list first page (100), ExecutionStatus = 'Failed' AND StartTime > …", 200, () =>
            reader.ListVisibilityAsync(new VisibilityPageRequest(Namespace, Bind("ExecutionStatus = 'Failed' AND StartTime > '2026-01-01T00:00:00Z'", false), 100, null), CancellationToken.None).GetAwaiter().GetResult().Count);
        Measure("count ExecutionStatus = 'Completed'", 50, () =>
            (int)reader.CountVisibilityAsync(Namespace, Bind("ExecutionStatus = 'Completed'", true), CancellationToken.None).GetAwaiter().GetResult()[0].Count);
        Measure("count GROUP BY ExecutionStatus", 50, () =>
            reader.CountVisibilityAsync(Namespace, Bind("GROUP BY ExecutionStatus", true), CancellationToken.None).GetAwaiter().GetResult().Count);
        Measure("count WorkflowType = 'type-7'", 50, () =>
            (int)reader.CountVisibilityAsync(Namespace, Bind("WorkflowType = 'type-7'", true), CancellationToken.None).GetAwaiter().GetResult()[0].Count);
        File.Delete(file);
    }

    private static ListQuery Bind(string query, bool forCount) =>
        Binder.Bind(Parser.Parse(query), name => SystemAttributes.TryGet(name, out var d) ? d : null, forCount);

    private static void Insert(string file)
    {
        using var connection = new SqliteConnection($"Data Source={file}");
        connection.Open();
        using var tx = connection.BeginTransaction();
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO visibility (namespace_id, run_id, workflow_id, workflow_type, status, start_time, execution_time,
                close_time, execution_duration, history_length, history_size_bytes, state_transition_count, task_queue,
                search_attributes, info)
            VALUES ($ns, $run, $wf, $type, $status, $start, $start, $close, 1000000000, 11, 2048, 7, 'tq', '{}', $info);
            """;
        var info = new byte[300];
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < Rows; i++)
        {
            cmd.Parameters.Clear();
            cmd.Parameters.AddWithValue("$ns", i % 10 == 0 ? "other-ns" : Namespace);
            cmd.Parameters.AddWithValue("$run", Guid.NewGuid().ToString());
            cmd.Parameters.AddWithValue("$wf", $"wf-{i}");
            cmd.Parameters.AddWithValue("$type", $"type-{i % 10}");
            cmd.Parameters.AddWithValue("$status", 2 + (i % 6));
            cmd.Parameters.AddWithValue("$start", start.AddSeconds(i).Ticks);
            cmd.Parameters.AddWithValue("$close", start.AddSeconds(i + 1).Ticks);
            cmd.Parameters.AddWithValue("$info", info);
            cmd.ExecuteNonQuery();
        }

        tx.Commit();
    }

    private static void Measure(string name, int iterations, Func<int> action)
    {
        action();
        var times = new List<double>();
        var result = 0;
        for (var i = 0; i < iterations; i++)
        {
            var watch = Stopwatch.StartNew();
            result = action();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine(FormattableString.Invariant(
            $"{name}: p50 {times[times.Count / 2]:F2} ms, p99 {times[(int)(times.Count * 0.99)]:F2} ms, max {times[^1]:F2} ms (result {result})"));
    }
}
