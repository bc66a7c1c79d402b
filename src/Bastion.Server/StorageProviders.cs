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
}
