using System.CommandLine;
using Bastion.Server;
using Bastion.Storage;

namespace Bastion.Cli;

/// <summary>
/// The database options of the operator commands (<c>namespace</c>, <c>operator</c>, <c>audit</c>, <c>keys</c>): the
/// server's SQLite file or its PostgreSQL database, exactly one; and opening it.
/// </summary>
internal sealed class DatabaseOptions
{
    public Option<string?> File { get; } = new("--db-filename", "-f") { Description = "The server's SQLite file." };

    public Option<string?> Url { get; } = new("--database-url")
    {
        Description = "The server's PostgreSQL database, postgres://USER:PASS@HOST:PORT/DB (or BASTION_DATABASE_URL, which keeps the password off the command line).",
    };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(File);
        command.Options.Add(Url);
    }

    /// <summary>Options naming the chosen database; <see cref="ArgumentException"/> (a usage error) for none, both or a bad URL.</summary>
    public ServerOptions Resolve(ParseResult parse)
    {
        var options = new ServerOptions();
        DatabaseChoice.Apply(options, parse.GetValue(File), DatabaseChoice.Url(parse, Url));
        return options.DatabaseFile is null && options.DatabaseUrl is null
            ? throw new ArgumentException($"--db-filename or --database-url (or {DatabaseChoice.UrlVariable}) is required.")
            : options;
    }

    /// <summary>The database as messages name it (a URL redacted).</summary>
    public static string Describe(ServerOptions options) => options.DatabaseUrl?.ToString() ?? options.DatabaseFile ?? "(none)";

    /// <summary>Opens and migrates the database (creates the schema of a new one; changes no data in an existing one).</summary>
    public static async Task<IStorageProvider> OpenAsync(ServerOptions options)
    {
        var store = await StorageProviders.OpenAsync(options, CancellationToken.None).ConfigureAwait(false);
        try
        {
            await store.MigrateAsync(4, CancellationToken.None).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the chosen database (opened and migrated): exit 0; a usage error (no database,
    /// a missing file, <see cref="ArgumentException"/> from the action) exit 2; a database that cannot be opened or
    /// read exit 1, with one line naming it (a URL redacted).
    /// </summary>
    public async Task<int> RunAsync(ParseResult parse, Func<ServerOptions, IStorageProvider, Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        ServerOptions options;
        try
        {
            options = Resolve(parse);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        try
        {
            if (options.DatabaseFile is { } file && !System.IO.File.Exists(file))
            {
                throw new ArgumentException($"{file} does not exist.");
            }

            await using var store = await OpenAsync(options).ConfigureAwait(false);
            await action(options, store).ConfigureAwait(false);
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        catch (Bastion.Storage.Postgres.DatabaseOpenException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or InvalidDataException
            or Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException)
        {
            Console.Error.WriteLine($"{Describe(options)}: {e.Message}");
            return 1;
        }
    }
}
