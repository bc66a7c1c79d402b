using Bastion.Server;
using Microsoft.Data.Sqlite;
using Temporalio.Client;

namespace Bastion.Tests.Encryption;

/// <summary>
/// Encryption at rest end to end: the official SDK against a real server on a SQLite file, then a byte scan of
/// every file of the store; and records moved between rows are refused.
/// </summary>
public sealed class EncryptionAtRestTests : StoreDirectoryTest
{
    [Fact]
    public async Task CanaryWorkflows_Complete_AndNoFileOfTheStoreHoldsACanary()
    {
        var canary = "cnry" + Guid.NewGuid().ToString("N")[..12];
        IReadOnlyList<string> canaries;
        await using (var server = await StartAsync())
        {
            canaries = await CanaryWorkload.RunAsync(server, canary);

            // While the server runs: the database, its WAL and shared-memory files.
            Assert.Empty(CanaryScan.Find(StoreDirectory, canaries));
        }

        SqliteConnection.ClearAllPools();
        Assert.Empty(CanaryScan.Find(StoreDirectory, canaries));
    }

    [Fact]
    public async Task AuditRecords_AreEncrypted_AndTheCliStillVerifiesAndReadsThem()
    {
        var workflowId = "audited-" + Guid.NewGuid().ToString("N");
        await using (var server = await StartAsync())
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            await client.StartWorkflowAsync("Any", [], new(workflowId, "tq-none"));
        }

        SqliteConnection.ClearAllPools();
        Assert.Empty(CanaryScan.Find(StoreDirectory, [workflowId, "StartWorkflowExecution"]));
        var (verifyExit, verified, _) = await Cli.CliProcess.RunAsync("audit", "verify", "--db-filename", DatabaseFile);
        Assert.Equal(0, verifyExit);
        Assert.Contains("intact:", verified, StringComparison.Ordinal);
        var (tailExit, tail, _) = await Cli.CliProcess.RunAsync("audit", "tail", "--db-filename", DatabaseFile, "-n", "100");
        Assert.Equal(0, tailExit);
        Assert.Contains(workflowId, tail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACiphertextCopiedToAnotherRow_IsRefusedOnRead()
    {
        string first;
        string second;
        await using (var server = await StartAsync())
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            first = (await client.StartWorkflowAsync("Any", [], new("tamper-a-" + Guid.NewGuid(), "tq-none"))).ResultRunId!;
            second = (await client.StartWorkflowAsync("Any", [], new("tamper-b-" + Guid.NewGuid(), "tq-none"))).ResultRunId!;
        }

        using (var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=false"))
        {
            connection.Open();
            using var copy = connection.CreateCommand();
            copy.CommandText = "UPDATE executions SET state = (SELECT state FROM executions WHERE run_id = $from) WHERE run_id = $to;";
            copy.Parameters.AddWithValue("$from", first);
            copy.Parameters.AddWithValue("$to", second);
            Assert.Equal(1, copy.ExecuteNonQuery());
        }

        await using (var server = await StartAsync())
        {
            var codec = server.Encryption.Codec;
            using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=false");
            connection.Open();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT namespace_id, state FROM executions WHERE run_id = $run;";
            read.Parameters.AddWithValue("$run", second);
            using var reader = read.ExecuteReader();
            Assert.True(reader.Read());
            var error = Assert.Throws<InvalidDataException>(() =>
                codec.Decode(Bastion.Storage.RecordIdentities.Execution(reader.GetString(0), second), (byte[])reader[1]));
            Assert.Contains("failed authentication: it was altered or copied from another row", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task APlainDatabase_IsRefusedWithEncryptionOn_AndAnEncryptedOne_WithEncryptionOff()
    {
        await (await StartAsync(encryption: false)).DisposeAsync();
        await using (var server = await StartAsync(encryption: false))
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            await client.StartWorkflowAsync("Any", [], new("plain-canary-QZ1", "tq-none"));
        }

        // The scan sees what is there: with encryption off the workflow id is in the file.
        SqliteConnection.ClearAllPools();
        Assert.NotEmpty(CanaryScan.Find(StoreDirectory, ["plain-canary-QZ1"]));

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => StartAsync(encryption: true));
        Assert.Contains("written without encryption at rest", refused.Message, StringComparison.Ordinal);

        var otherFile = Path.Combine(StoreDirectory, "encrypted.db");
        await (await BastionServer.StartAsync(Options(otherFile, encryption: true))).DisposeAsync();
        var off = await Assert.ThrowsAsync<ArgumentException>(() => BastionServer.StartAsync(Options(otherFile, encryption: false)));
        Assert.Contains("encryption cannot be turned off", off.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheMasterKeyFile_IsCreatedWithMode0600_AndAnotherKeyCannotOpenTheDatabase()
    {
        await using (var server = await StartAsync())
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            await client.StartWorkflowAsync("Any", [], new("keyed-" + Guid.NewGuid(), "tq-none"));
        }

        var keyFile = DatabaseFile + ".master-key";
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }

        File.Move(keyFile, keyFile + ".saved");
        var error = await Assert.ThrowsAsync<ArgumentException>(() => StartAsync());
        Assert.Contains("this database was encrypted with another master key", error.Message, StringComparison.Ordinal);
    }

    private Task<BastionServer> StartAsync(bool encryption = true) => BastionServer.StartAsync(Options(DatabaseFile, encryption));

    private static ServerOptions Options(string file, bool encryption) =>
        new() { Port = 0, DatabaseFile = file, Encryption = encryption, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
}
