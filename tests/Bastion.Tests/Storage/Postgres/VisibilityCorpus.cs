using System.Globalization;
using Bastion.Storage.Postgres;
using Bastion.Storage.Sqlite;
using Bastion.Visibility;
using Bastion.Visibility.Query;
using Bastion.Visibility.Sql;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Bastion.Tests.Storage.Postgres;

/// <summary>
/// The same visibility rows in a SQLite visibility table (the SQLite store's schema) and a PostgreSQL one (migration 1),
/// and a list query run on both through <see cref="Binder"/> and <see cref="SqlFilterWriter"/> with each dialect.
/// The attribute maps are the JSON the engine writes (VisibilityRecord.SearchAttributesJson).
/// </summary>
public sealed class VisibilityCorpus : IAsyncLifetime, IDisposable
{
    public const string Namespace = "ns";

    public static readonly DateTime T0 = new(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly Dictionary<string, SearchAttributeType> s_custom = new(StringComparer.Ordinal)
    {
        ["CustomKeyword"] = SearchAttributeType.Keyword,
        ["CustomInt"] = SearchAttributeType.Int,
        ["CustomDouble"] = SearchAttributeType.Double,
        ["CustomBool"] = SearchAttributeType.Bool,
        ["CustomDatetime"] = SearchAttributeType.Datetime,
        ["CustomText"] = SearchAttributeType.Text,
        ["CustomList"] = SearchAttributeType.KeywordList,
    };

    // A linguistic collation ('Alpha' > 'alpha', lower('É') = 'é'), so the dialect is shown to compare by code
    // point and fold ASCII only, as SQLite does, whatever locale the operator's database has.
    private readonly PostgresDatabase _postgres = new() { CreateOptions = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'" };
    private SqliteConnection? _sqlite;

    /// <summary>Runs 1–7 in <see cref="Namespace"/>; run 8 elsewhere, so no query may return it.</summary>
    public static IReadOnlyList<Row> Rows { get; } =
    [
        new("run-1", Namespace, "order-1", "OrderWorkflow", 1, Hours(1), null, "orders", null, 10,
            $$"""{"CustomKeyword":"alpha","CustomInt":10,"CustomDouble":1.5,"CustomBool":true,"CustomDatetime":{{Days(1)}},"CustomText":"Hello World","CustomList":["red","green"]}"""),
        new("run-2", Namespace, "order-2", "OrderWorkflow", 2, Hours(2), Hours(3), "orders", null, 20,
            """{"CustomKeyword":"beta","CustomInt":20,"CustomDouble":2.5,"CustomBool":false,"CustomText":"quick brown fox","CustomList":["blue"]}"""),
        new("run-3", Namespace, "payment-1", "PaymentWorkflow", 3, Hours(3), Hours(5), "payments", null, 30,
            $$"""{"CustomKeyword":"alpha","CustomInt":-5,"CustomDouble":-0.25,"CustomDatetime":{{Days(2)}}}"""),
        new("run-4", Namespace, "payment-2", "PaymentWorkflow", 1, Hours(4), null, "payments", null, 5, "{}"),
        new("run-5", Namespace, "ship-1", "ShippingWorkflow", 5, Hours(5), Hours(6), "orders", "order-1", 40,
            """{"CustomInt":30,"CustomBool":true,"CustomText":"HELLO there","CustomList":["red"]}"""),
        new("run-6", Namespace, "ship-2", "ShippingWorkflow", 6, Hours(5), Hours(7), "shipping", null, 50,
            $$"""{"CustomKeyword":"gamma","CustomDouble":100.0,"CustomDatetime":{{Days(3)}},"CustomText":"Émile's crate","CustomList":["green","yellow"]}"""),
        new("run-7", Namespace, "order-3", "OrderWorkflow", 7, Hours(6), Hours(8), "orders", null, 15,
            """{"CustomKeyword":"Alpha","CustomInt":20,"CustomBool":false}""", ExecutionTime: Hours(6.5)),
        new("run-8", "other", "order-1", "OrderWorkflow", 1, Hours(1), null, "orders", null, 10, """{"CustomKeyword":"alpha"}"""),
    ];

    public async Task InitializeAsync()
    {
        await _postgres.InitializeAsync();
        await PostgresSchema.MigrateAsync(_postgres.DataSource, CancellationToken.None);
        _sqlite = new SqliteConnection("Data Source=:memory:");
        _sqlite.Open();
        foreach (var step in SqliteSchema.Migrations)
        {
            using var migrate = new SqliteCommand(step, _sqlite);
            migrate.ExecuteNonQuery();
        }

        foreach (var row in Rows)
        {
            using var sqlite = new SqliteCommand(Insert("$", "$sa"), _sqlite);
            row.Bind((name, value) => sqlite.Parameters.AddWithValue("$" + name, value));
            sqlite.ExecuteNonQuery();

            await using var postgres = _postgres.DataSource.CreateCommand(Insert("@", "CAST(@sa AS jsonb)"));
            row.Bind((name, value) => postgres.Parameters.AddWithValue(name, value));
            await postgres.ExecuteNonQueryAsync();
        }
    }

    public Task DisposeAsync() => _postgres.DisposeAsync();

    public void Dispose() => _sqlite?.Dispose();

    public static ListQuery Bind(string query) => Binder.Bind(Parser.Parse(query), Resolve, forCount: false);

    /// <summary>The run ids a list returns on SQLite, in order.</summary>
    public List<string> Sqlite(ListQuery query)
    {
        var filter = SqlFilterWriter.Write(query.Filter, SqliteVisibilityDialect.Instance);
        using var cmd = new SqliteCommand(Select(query, filter, "$ns"), _sqlite ?? throw new InvalidOperationException("Not loaded."));
        cmd.Parameters.AddWithValue("$ns", Namespace);
        for (var i = 0; i < filter.Parameters.Count; i++)
        {
            cmd.Parameters.AddWithValue(SqliteVisibilityDialect.Instance.Parameter(i), filter.Parameters[i]);
        }

        using var reader = cmd.ExecuteReader();
        var runs = new List<string>();
        while (reader.Read())
        {
            runs.Add(reader.GetString(0));
        }

        return runs;
    }

    /// <summary>The run ids a list returns on PostgreSQL, in order.</summary>
    public async Task<List<string>> PostgresAsync(ListQuery query)
    {
        var filter = SqlFilterWriter.Write(query.Filter, PostgresVisibilityDialect.Instance);
        await using var cmd = _postgres.DataSource.CreateCommand(Select(query, filter, "@ns"));
        cmd.Parameters.AddWithValue("ns", Namespace);
        for (var i = 0; i < filter.Parameters.Count; i++)
        {
            cmd.Parameters.AddWithValue(PostgresVisibilityDialect.Instance.Parameter(i)[1..], filter.Parameters[i]);
        }

        await using var reader = await cmd.ExecuteReaderAsync();
        var runs = new List<string>();
        while (await reader.ReadAsync())
        {
            runs.Add(reader.GetString(0));
        }

        return runs;
    }

    private static AttributeDefinition? Resolve(string name) =>
        SystemAttributes.TryGet(name, out var system) ? system
        : s_custom.TryGetValue(name, out var type) ? new AttributeDefinition(name, type, null)
        : null;

    /// <summary>A list's statement as the SQLite store writes it: newest first unless ordered, ties by run id.</summary>
    private static string Select(ListQuery query, SqlFilter filter, string ns)
    {
        var order = Bastion.Storage.VisibilityOrder.Of(query);
        return $"SELECT run_id FROM visibility WHERE namespace_id = {ns} AND {filter.Where} ORDER BY {order.KeySql} {order.Direction}, run_id {order.Direction};";
    }

    private static string Insert(string prefix, string attributes) => $"""
        INSERT INTO visibility (namespace_id, run_id, workflow_id, workflow_type, status, start_time, execution_time,
            close_time, execution_duration, history_length, history_size_bytes, state_transition_count, task_queue,
            parent_workflow_id, parent_run_id, root_workflow_id, root_run_id, search_attributes, info)
        VALUES ({prefix}ns, {prefix}run, {prefix}wf, {prefix}type, {prefix}status, {prefix}start, {prefix}exec, {prefix}close,
            {prefix}duration, {prefix}length, 0, 1, {prefix}tq, {prefix}pwf, NULL, {prefix}wf, {prefix}run, {attributes}, {prefix}info);
        """;

    private static DateTime Hours(double hours) => T0.AddHours(hours);

    private static string Days(int days) => T0.AddDays(days).Ticks.ToString(CultureInfo.InvariantCulture);

    public sealed record Row(string RunId, string NamespaceId, string WorkflowId, string WorkflowType, int Status, DateTime StartTime,
        DateTime? CloseTime, string TaskQueue, string? ParentWorkflowId, long HistoryLength, string SearchAttributesJson,
        DateTime? ExecutionTime = null)
    {
        public void Bind(Action<string, object> add)
        {
            ArgumentNullException.ThrowIfNull(add);
            var execution = ExecutionTime ?? StartTime;
            add("ns", NamespaceId);
            add("run", RunId);
            add("wf", WorkflowId);
            add("type", WorkflowType);
            add("status", Status);
            add("start", StartTime.Ticks);
            add("exec", execution.Ticks);
            add("close", CloseTime is { } close ? close.Ticks : DBNull.Value);
            add("duration", CloseTime is { } closed ? (closed - execution).Ticks * 100 : DBNull.Value);
            add("length", HistoryLength);
            add("tq", TaskQueue);
            add("pwf", (object?)ParentWorkflowId ?? DBNull.Value);
            add("sa", SearchAttributesJson);
            add("info", Array.Empty<byte>());
        }
    }
}
