using System.Text.Json.Nodes;
using Bastion.Security.Audit;
using Bastion.Storage;
using Bastion.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Bastion.Tests.Security;
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
            var row = (await new DecodedAuditStore(store.Audit, AuditRecordCodec.Plain).ReadAuditAsync(new AuditQuery(AuditChains.ThisMachine, 3, 1), CancellationToken.None)).Single();
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

    /// <summary>The chain's head row names its last record, so cutting records off the end is found too.</summary>
    [Fact]
    public async Task Verify_RecordsCutOffTheEnd_AreReported()
    {
        var db = await WriteLogAsync(10);
        Execute(db, "DELETE FROM audit_log WHERE seq > 8;");
        await AssertVerifyReportsAsync(db, "the chain ends at record 8 but its head is record 10", "removed");
    }

    [Fact]
    public async Task Verify_ARecordMovedToAnotherChain_IsReported()
    {
        var db = await WriteLogAsync(10);
        Execute(db, "INSERT INTO audit_chains SELECT 'node/other', 1, hash, 0, X'' FROM audit_log WHERE seq = 1; UPDATE audit_log SET chain_id = 'node/other' WHERE seq = 1;");
        var result = await VerifyAsync(db);
        Assert.False(result.IsIntact);
        Assert.Contains(result.Chains, c => c.Chain == "node/other" && c.Tampering == AuditTampering.Reordered && c.Message.Contains("of chain " + AuditChains.ThisMachine, StringComparison.Ordinal));
        Assert.Contains(result.Chains, c => c.Chain == AuditChains.ThisMachine && c.Tampering == AuditTampering.Removed);
    }

    /// <summary>
    /// A database from before chains: its one chain becomes 'legacy' (same numbers, hashes and bytes), closed for appends;
    /// new records start their own chain; both verify, and a merged read returns every record once.
    /// </summary>
    [Fact]
    public async Task ALogFromBeforeChains_BecomesTheLegacyChain_AndStillVerifies()
    {
        var db = Path.Combine(_directory, "legacy.db");
        byte[] previous = [];
        using (var connection = Open(db))
        {
            using var tx = connection.BeginTransaction();
            Execute(connection, tx, "CREATE TABLE schema_version (version INTEGER NOT NULL);");
            for (var i = 0; i < 10; i++) // the schema as the last version before chains left it
            {
                Execute(connection, tx, SqliteSchema.Migrations[i]);
                Execute(connection, tx, $"INSERT INTO schema_version (version) VALUES ({i + 1});");
            }

            for (var seq = 1; seq <= 3; seq++)
            {
                var record = new AuditRecord { LogId = $"log-{seq}", EmitTime = DateTime.UtcNow, Operation = $"old-{seq}", PrincipalType = "User", PrincipalId = "u1", Account = "acme" };
                var data = AuditJson.Serialize(record, AuditChains.Legacy, seq, previous); // the bytes written before chains: no "chain" field
                Assert.DoesNotContain("\"chain\"", System.Text.Encoding.UTF8.GetString(data), StringComparison.Ordinal);
                previous = AuditChain.Hash(data);
                using var cmd = connection.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO audit_log (seq, emit_time, account, namespace_id, data, hash) VALUES ($seq, $time, 'acme', NULL, $data, $hash);";
                cmd.Parameters.AddWithValue("$seq", seq);
                cmd.Parameters.AddWithValue("$time", record.EmitTime.Ticks);
                cmd.Parameters.AddWithValue("$data", new PlainRecordCodec().Encode(RecordIdentities.AuditRecord(AuditChains.Legacy, seq), data));
                cmd.Parameters.AddWithValue("$hash", previous);
                cmd.ExecuteNonQuery();
            }

            Execute(connection, tx, "INSERT INTO audit_cursors (sink, seq) VALUES ('file', 2);");
            tx.Commit();
        }

        await WriteLogAsync(2, db: db); // migrates, then appends to this machine's chain
        using (var store = SqliteStorageProvider.OpenFile(db))
        {
            var chains = await store.ListAuditChainsAsync(CancellationToken.None);
            Assert.Equal([(AuditChains.Legacy, 3L), (AuditChains.ThisMachine, 2L)], chains.Select(c => (c.Chain, c.Head.Sequence)).OrderBy(c => c.Chain, StringComparer.Ordinal));
            Assert.Equal(previous, chains.Single(c => c.Chain == AuditChains.Legacy).Head.Hash);
            Assert.Equal(2, (await store.ReadAuditCursorAsync("file", CancellationToken.None)).After(AuditChains.Legacy)); // the export cursor moved with its chain
            Assert.Equal(["old-1", "old-2", "old-3", "op-1", "op-2"], (await new DecodedAuditStore(store.Audit, AuditRecordCodec.Plain).AllAsync()).Select(r => AuditJson.Parse(r.Data).Record.Operation));
        }

        var result = await VerifyAsync(db);
        Assert.True(result.IsIntact, result.Message);
        Assert.Equal(5, result.Checked);
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
            Assert.Equal(5, (await store.AllAsync()).Count);
            Assert.Equal(11, (await store.AllAsync())[0].Sequence);
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
        var first = (await store.ListAuditChainsAsync(CancellationToken.None)).SingleOrDefault(c => c.Chain == AuditChains.ThisMachine)?.Head.Sequence ?? 0;
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

    private static void Execute(SqliteConnection connection, SqliteTransaction tx, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
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
