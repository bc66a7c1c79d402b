using System.Diagnostics;
using Bastion.Server;
using Bastion.Tests.Storage.Postgres;

namespace Bastion.Tests.Encryption;

/// <summary>
/// Encryption at rest on PostgreSQL, as on SQLite: the canary workload through the official SDK, then a scan of a
/// <c>pg_dump</c> of the whole database (text columns as written, <c>bytea</c> as hex, <c>jsonb</c> as text) for any
/// canary in any form.
/// </summary>
public sealed class PostgresEncryptionAtRestTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-pg-crypto-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task CanaryWorkflows_Complete_AndADumpOfTheDatabaseHoldsNoCanary()
    {
        var canary = "cnry" + Guid.NewGuid().ToString("N")[..12];
        IReadOnlyList<string> canaries;
        await using (var server = await BastionServer.StartAsync(new ServerOptions
        {
            Port = 0,
            DatabaseUrl = database.Url,
            MasterKeyFile = Path.Combine(_directory, "master-key"),
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        }))
        {
            canaries = await CanaryWorkload.RunAsync(server, canary);
        }

        var dump = await DumpAsync();
        Assert.Contains("COPY public.executions", await File.ReadAllTextAsync(dump)); // the dump holds the data the scan reads
        Assert.Empty(CanaryScan.Find(_directory, canaries));
    }

    /// <summary>A plain-format <c>pg_dump</c> of the test database into the test's directory (the password by environment, never on the command line).</summary>
    private async Task<string> DumpAsync()
    {
        var file = Path.Combine(_directory, "dump.sql");
        var url = database.Url;
        var info = new ProcessStartInfo(PgDump()) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "--host", url.Host, "--port", url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--username", url.Username, "--file", file, url.Database })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["PGPASSWORD"] = PostgresDatabase.ServerPassword;
        using var process = Process.Start(info)!;
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "pg_dump failed: " + errors);
        return file;
    }

    /// <summary>The pg_dump of the newest PostgreSQL installed (the one .ci/postgres.sh runs), else the one on the PATH.</summary>
    private static string PgDump() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", "pg_dump")).Where(File.Exists).OrderBy(p => p, StringComparer.Ordinal).LastOrDefault() ?? "pg_dump"
            : "pg_dump";
}
