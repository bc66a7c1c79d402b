using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Audit;
using Bastion.Security.Identity;
using Bastion.Server;
using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Cli;

/// <summary>
/// Runs an operator command on the server's database file directly, while the server runs or not: SQLite in WAL
/// mode takes a second writer, and a running server re-reads the store within seconds.
/// </summary>
internal static class DatabaseFile
{
    /// <summary>Opens <paramref name="file"/>, runs <paramref name="action"/>; exit code 2 for a refused input, 1 for other failures.</summary>
    public static async Task<int> RunAsync(string file, Func<NamespaceRegistry, IdentityRegistry, Task> action)
    {
        try
        {
            await using var store = SqliteStorageProvider.OpenFile(file);
            await store.MigrateAsync(4, CancellationToken.None).ConfigureAwait(false); // creates the schema of a new database; changes nothing in an existing one

            // Key, grant and access changes are audit events, written with the change (encrypted like the server's). The
            // codec is opened on the first record only: commands that write none need no master key. The wait is on a
            // command-line tool's own thread.
            var auditCodec = new AuditRecordCodec(() =>
                EncryptionAtRest.CodecOfExistingAsync(store, new ServerOptions { DatabaseFile = file }, CancellationToken.None).GetAwaiter().GetResult());
            await using var committer = new GroupCommitter(store, auditCodec);
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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException
            or InvalidOperationException or InvalidDataException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"{file}: {e.Message}");
            return 1;
        }
    }
}
