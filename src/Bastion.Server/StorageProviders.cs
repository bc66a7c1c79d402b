using Bastion.Storage;
using Bastion.Storage.Postgres;
using Bastion.Storage.Sqlite;

namespace Bastion.Server;

/// <summary>The one place that turns the options' choice of store into a provider: PostgreSQL by URL, SQLite by file, else memory.</summary>
public static class StorageProviders
{
    /// <exception cref="ArgumentException">Both a file and a URL are given.</exception>
    /// <exception cref="DatabaseOpenException">The PostgreSQL database cannot be reached or refuses the credentials.</exception>
    public static async Task<IStorageProvider> OpenAsync(ServerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.DatabaseUrl is { } url)
        {
            return options.DatabaseFile is null
                ? await PostgresStorageProvider.OpenAsync(url, cancellationToken).ConfigureAwait(false)
                : throw new ArgumentException("--db-filename and --database-url both choose the database; give one of them.");
        }

        return options.DatabaseFile is { } file ? SqliteStorageProvider.OpenFile(file) : SqliteStorageProvider.OpenInMemory();
    }

    /// <summary>Where the state is, as a banner shows it (a URL redacted).</summary>
    public static string Describe(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.DatabaseUrl is { } url ? $"{url} (PostgreSQL, durable)"
            : options.DatabaseFile is { } file ? $"{Path.GetFullPath(file)} (SQLite, durable)"
            : "in memory (lost on exit)";
    }

    /// <summary>
    /// The audit log's codec, set on the provider that encodes audit rows today (until the codec moves above the
    /// providers, issue 14 step 3); <paramref name="codec"/> is made when a record is first written or read.
    /// </summary>
    public static void UseAuditCodec(IStorageProvider store, Func<IRecordCodec> codec)
    {
        switch (store)
        {
            case SqliteStorageProvider sqlite:
                sqlite.UseAuditCodec(codec);
                break;
            case PostgresStorageProvider postgres:
                postgres.UseAuditCodec(codec);
                break;
            default:
                throw new ArgumentException($"No audit codec for the {store?.Name} provider.", nameof(store));
        }
    }
}
