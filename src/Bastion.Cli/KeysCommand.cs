using System.CommandLine;
using Bastion.Server;
using Bastion.Storage;
using Bastion.Storage.Encryption;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion keys list|rotate</c>: encryption-at-rest keys of a server's database, worked on the file directly like
/// <c>bastion namespace</c>. A rotation adds a key version; a running server picks it up within its re-encryption
/// interval, writes with it from then on, moves old records to it in the background and retires the old version.
/// </summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var command = new Command("keys", "Encryption-at-rest keys: list them, or rotate a namespace's data key.");
        command.Subcommands.Add(ListCommand());
        command.Subcommands.Add(RotateCommand());
        return command;
    }

    private static Command ListCommand()
    {
        var common = new Common();
        var command = new Command("list", "List each namespace's data key versions (never the keys).");
        common.AddTo(command);
        command.SetAction((parse, _) => common.RunAsync(parse, async (store, keys, names) =>
        {
            foreach (var group in (await store.Metadata.ListDataKeysAsync(CancellationToken.None).ConfigureAwait(false)).Where(k => k.Version != KeyRing.IndexKeyVersion).GroupBy(k => k.NamespaceId, StringComparer.Ordinal))
            {
                var current = group.Where(k => !k.Retired).Max(k => k.Version);
                Console.WriteLine($"{names.GetValueOrDefault(group.Key, group.Key)}: "
                    + string.Join(", ", group.Select(k => $"v{k.Version}{(k.Retired ? " (retired)" : k.Version == current ? " (current)" : " (in use until re-encrypted)")}")));
            }
        }));
        return command;
    }

    private static Command RotateCommand()
    {
        var common = new Common();
        var name = new Option<string?>("--namespace", "-n") { Description = "Namespace name (with --account); without it, every namespace with keys rotates." };
        var account = new Option<string?>("--account") { Description = "The namespace's account." };
        var command = new Command("rotate", "Make a new data key version current; a running server re-encrypts old records and retires the old version.");
        common.AddTo(command);
        command.Options.Add(name);
        command.Options.Add(account);
        command.SetAction((parse, _) => common.RunAsync(parse, async (store, keys, names) =>
        {
            var withKeys = (await store.Metadata.ListDataKeysAsync(CancellationToken.None).ConfigureAwait(false)).Select(k => k.NamespaceId).ToHashSet(StringComparer.Ordinal);
            IEnumerable<string> targets = withKeys;
            if (parse.GetValue(name) is { } given)
            {
                var fullName = $"{given}.{parse.GetValue(account) ?? throw new ArgumentException("--namespace needs --account.")}";
                var id = names.FirstOrDefault(n => n.Value == fullName).Key ?? throw new ArgumentException($"Namespace {fullName} does not exist.");
                targets = [id];
            }

            foreach (var id in targets.Order(StringComparer.Ordinal))
            {
                Console.WriteLine($"{names.GetValueOrDefault(id, id)}: key v{await keys.RotateAsync(id, CancellationToken.None).ConfigureAwait(false)} is current.");
            }
        }));
        return command;
    }

    /// <summary>The database and master-key options, and running a command with the store and its key ring.</summary>
    private sealed class Common
    {
        private readonly DatabaseOptions _database = new();
        private readonly Option<string?> _keyFile = new("--master-key-file") { Description = "The master key file (default: <db-filename>.master-key; PostgreSQL has no default); or set BASTION_MASTER_KEY." };
        private readonly Option<string?> _keyCommand = new("--master-key-command") { Description = "A command that prints the master key in base64 (a KMS hook)." };

        public void AddTo(Command command)
        {
            _database.AddTo(command);
            command.Options.Add(_keyFile);
            command.Options.Add(_keyCommand);
        }

        public Task<int> RunAsync(ParseResult parse, Func<IStorageProvider, KeyRing, Dictionary<string, string>, Task> action) =>
            _database.RunAsync(parse, async (options, store) =>
            {
                options.MasterKeyFile = parse.GetValue(_keyFile);
                options.MasterKeyCommand = parse.GetValue(_keyCommand);
                var keys = new KeyRing(store.Metadata, EncryptionAtRest.LoadMasterKey(options, Environment.GetEnvironmentVariable(EncryptionAtRest.EnvironmentVariable)));
                await keys.RefreshAsync(CancellationToken.None).ConfigureAwait(false);
                var names = (await store.Metadata.ListNamespacesAsync(CancellationToken.None).ConfigureAwait(false))
                    .ToDictionary(n => n.Id, n => $"{n.Name}.{n.Account}", StringComparer.Ordinal);
                await action(store, keys, names).ConfigureAwait(false);
            });
    }
}
