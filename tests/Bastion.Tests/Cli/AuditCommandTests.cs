using System.Text.Json.Nodes;
using Bastion.Security.Audit;
using Bastion.Storage;
using Bastion.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bastion.Tests.Cli;

/// <summary><c>bastion audit verify</c> and <c>export</c> on a database whose audit rows were tampered with by hand.</summary>
public sealed class AuditCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-audit-").FullName;

    [Fact]
    public async Task Verify_IntactLog_ReportsTheCount()
    {
        var db = await WriteLogAsync(10);
        var (exit, output, _) = await CliProcess.RunAsync("audit", "verify", "--db-filename", db);
        Assert.Equal(0, exit);
        Assert.Contains("intact: 10 records checked", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_EditedRecord_IsReported()
    {
        var db = await WriteLogAsync(10);
        Execute(db, "UPDATE audit_log SET data = CAST(replace(CAST(data AS TEXT), 'op-4', 'op-X') AS BLOB) WHERE seq = 4;");
        await AssertVerifyReportsAsync(db, "record 4 does not match its hash", "edited");
    }

    [Fact]
    public async Task Verify_EditedRecordWithItsHashRecomputed_IsReportedByItsSuccessor()
    {
        var db = await WriteLogAsync(10);
        using (var store = SqliteStorageProvider.OpenFile(db))
        {
            var row = (await new DecodedAuditStore(store.Audit, AuditRecordCodec.Plain).ReadAuditAsync(new AuditQuery(3, 1), CancellationToken.None)).Single();
            var edited = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(row.Data).Replace("op-4", "op-X", StringComparison.Ordinal));
            using var connection = Open(db);
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "UPDATE audit_log SET data = $data, hash = $hash WHERE seq = 4;";
            cmd.Parameters.AddWithValue("$data", edited);
            cmd.Parameters.AddWithValue("$hash", AuditChain.Hash(edited));
            cmd.ExecuteNonQuery();
        }

        var result = (await VerifyAsync(db));
        Assert.Equal((AuditTampering.Edited, 4L), (result.Tampering, result.Sequence!.Value));
    }

    [Fact]
    public async Task Verify_RemovedRecord_IsReported()
    {
        var db = await WriteLogAsync(10);
        Execute(db, "DELETE FROM audit_log WHERE seq = 6;");
        await AssertVerifyReportsAsync(db, "records 6–6 are missing before record 7", "removed");
    }

    [Fact]
    public async Task Verify_ReorderedRecords_AreReported()
    {
        var db = await WriteLogAsync(10);
        Execute(db, "UPDATE audit_log SET seq = -3 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = -3;");
        await AssertVerifyReportsAsync(db, "position 3 holds record 4", "reordered");
    }

    [Fact]
    public async Task Retention_RemovesOldRecords_AndTheRestStillVerifies()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var db = await WriteLogAsync(10, time);
        time.Advance(TimeSpan.FromDays(30));
        var later = await WriteLogAsync(5, time, db);
        using (var store = SqliteStorageProvider.OpenFile(db))
        using (var retention = new AuditRetention(store, TimeSpan.FromDays(20), TimeSpan.FromHours(1), time, NullLogger.Instance))
        {
            time.Advance(TimeSpan.FromHours(1)); // the timer fires: the first 10 are past retention
            Assert.Equal(5, (await store.ReadAuditAsync(new AuditQuery(0, 100), CancellationToken.None)).Count);
            Assert.Equal(11, (await store.ReadAuditAsync(new AuditQuery(0, 100), CancellationToken.None))[0].Sequence);
        }

        Assert.True((await VerifyAsync(later)).IsIntact);
        Assert.Equal(5, (await VerifyAsync(later)).Checked);
    }

    [Fact]
    public async Task Export_Since_WritesTheRecordsOfTheRangeAsJsonLines()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var db = await WriteLogAsync(3, time);
        time.Advance(TimeSpan.FromDays(2));
        await WriteLogAsync(4, time, db);
        var (exit, output, error) = await CliProcess.RunAsync("audit", "export", "--db-filename", db, "--since", "2026-01-02T00:00:00Z", "--format", "jsonl");
        Assert.True(exit == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([4L, 5, 6, 7], lines.Select(l => l["seq"]!.GetValue<long>()));
    }

    private static async Task AssertVerifyReportsAsync(string db, string problem, string kind)
    {
        var (exit, _, error) = await CliProcess.RunAsync("audit", "verify", "--db-filename", db);
        Assert.Equal(3, exit);
        Assert.Contains(problem, error, StringComparison.Ordinal);
        Assert.Contains($"({kind};", error, StringComparison.Ordinal);
    }

    private static async Task<AuditVerification> VerifyAsync(string db)
    {
        using var store = SqliteStorageProvider.OpenFile(db);
        return await AuditChain.VerifyAsync(new DecodedAuditStore(store.Audit, AuditRecordCodec.Plain));
    }

    /// <summary>Writes <paramref name="count"/> records through the durable sink (operations op-1, op-2, …).</summary>
    private async Task<string> WriteLogAsync(int count, TimeProvider? time = null, string? db = null)
    {
        db ??= Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".db");
        using var store = SqliteStorageProvider.OpenFile(db);
        await store.MigrateAsync(1, CancellationToken.None);
        var first = (await store.ReadAuditHeadAsync(CancellationToken.None)).Sequence;
        await using var sink = new DurableAuditSink(store, AuditRecordCodec.Plain, "acme");
        for (var i = 1; i <= count; i++)
        {
            await sink.WriteAsync(new AuditRecord
            {
                LogId = Guid.NewGuid().ToString(),
                EmitTime = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime,
                Operation = $"op-{first + i}",
                PrincipalType = "User",
                PrincipalId = "u1",
            });
        }

        return db;
    }

    private static SqliteConnection Open(string db)
    {
        var connection = new SqliteConnection($"Data Source={db};Pooling=False");
        connection.Open();
        return connection;
    }

    private static void Execute(string db, string sql)
    {
        using var connection = Open(db);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
