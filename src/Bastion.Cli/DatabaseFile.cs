using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Audit;
using Bastion.Security.Identity;
using Bastion.Server;
using Bastion.Storage;
using Bastion.Storage.Postgres;

namespace Bastion.Cli;

/// <summary>
/// Runs an operator command on the server's database directly (its SQLite file or its PostgreSQL database), while the
/// server runs or not: SQLite in WAL mode and PostgreSQL take a second writer, the audit chain is extended under the
/// store's lock, and a running server re-reads the store within seconds.
/// </summary>
internal static class DatabaseFile
{
    /// <summary>Opens the database <paramref name="parse"/> names, runs <paramref name="action"/>; exit code 2 for a refused input, 1 for other failures.</summary>
    public static async Task<int> RunAsync(DatabaseOptions database, System.CommandLine.ParseResult parse, Func<NamespaceRegistry, IdentityRegistry, Task> action)
    {
        ArgumentNullException.ThrowIfNull(database);
        ServerOptions target;
        try
        {
            target = database.Resolve(parse);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        try
        {
            await using var store = await DatabaseOptions.OpenAsync(target).ConfigureAwait(false);

            // Key, grant and access changes are audit events, written with the change (encrypted like the server's). The
            // codec is opened on the first record only: commands that write none need no master key. The wait is on a
            // command-line tool's own thread.
            var auditCodec = new AuditRecordCodec(() =>
                EncryptionAtRest.CodecOfExistingAsync(store, target, CancellationToken.None).GetAwaiter().GetResult());
            await using var committer = new GroupCommitter(store, auditCodec, AuditChains.Cli);
            var command = string.Join(' ', Environment.GetCommandLineArgs().Skip(1).TakeWhile(a => !a.StartsWith('-')).Take(2));
            AuditActor.Current = AuditActor.CommandLine(Environment.UserName, "bastion " + command);
            var namespaces = new NamespaceRegistry(store, committer, TimeProvider.System);
            await namespaces.LoadAsync(CancellationToken.None).ConfigureAwait(false);
            var identities = new IdentityRegistry(store, committer, TimeProvider.System);
            await identities.LoadAsync(CancellationToken.None).ConfigureAwait(false);
            await action(namespaces, identities).ConfigureAwait(false);
            return 0;
        }
        catch (ServiceException e)
        {
            Console.Error.WriteLine(e.Message);
            return e.Kind == ErrorKind.InvalidArgument ? 2 : 1;
        }
        catch (DatabaseOpenException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException
            or InvalidOperationException or InvalidDataException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"{DatabaseOptions.Describe(target)}: {e.Message}");
            return 1;
        }
    }
}
