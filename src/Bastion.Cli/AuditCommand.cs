using System.CommandLine;
using System.Globalization;
using System.Text;
using Bastion.Security.Audit;
using Bastion.Server;
using Bastion.Storage;
using Bastion.Storage.Postgres;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion audit verify|tail|export</c>: the audit log, read from the server's database file directly (as its
/// operator: whoever can read the file can read the log), while the server runs or not. Records print as the JSON lines
/// the export sinks receive.
/// </summary>
internal static class AuditCommand
{
    private const int Page = 1000;

    public static Command Create()
    {
        var command = new Command("audit", "Verify, follow and export a server's audit log (from its database file).");
        command.Subcommands.Add(VerifyCommand());
        command.Subcommands.Add(TailCommand());
        command.Subcommands.Add(ExportCommand());
        return command;
    }


    private static Command VerifyCommand()
    {
        var db = new DatabaseOptions();
        var command = new Command("verify", "Check every hash chain of the audit log: report the first edited, removed, reordered or cut-off record, or that all is intact (exit 0; 3 when tampered with).");
        db.AddTo(command);
        command.SetAction((parse, _) => Run(db, parse, async store =>
        {
            var result = await AuditChain.VerifyAsync(store).ConfigureAwait(false);
            foreach (var chain in result.Chains)
            {
                await (chain.IsIntact ? Console.Out : Console.Error).WriteLineAsync(chain.Message).ConfigureAwait(false);
            }

            if (result.IsIntact)
            {
                await Console.Out.WriteLineAsync(result.Message).ConfigureAwait(false);
            }
            return result.IsIntact ? 0 : 3;
        }));
        return command;
    }

    private static Command TailCommand()
    {
        var db = new DatabaseOptions();
        var lines = new Option<int>("--lines", "-n") { Description = "How many of the latest records to print first.", DefaultValueFactory = _ => 20 };
        var follow = new Option<bool>("--follow") { Description = "Keep printing new records as they are written, until interrupted." };
        var command = new Command("tail", "Print the latest records, and with --follow the ones that follow.") { lines, follow };
        db.AddTo(command);
        command.SetAction((parse, cancellationToken) => Run(db, parse, async store =>
        {
            // The latest n of the merged order are among the last n of each chain.
            var n = Math.Max(0, parse.GetValue(lines));
            var chains = await store.ListAuditChainsAsync(cancellationToken).ConfigureAwait(false);
            var after = new AuditPosition(chains.ToDictionary(c => c.Chain, c => Math.Max(c.Anchor.Sequence, c.Head.Sequence - n), StringComparer.Ordinal));
            var latest = new List<StoredAuditRecord>();
            AuditRead read;
            do
            {
                read = await AuditReader.ReadAsync(store, after, Page, null, cancellationToken).ConfigureAwait(false);
                latest.AddRange(read.Records);
                after = read.Next;
            }
            while (read.More);
            await PrintAsync(latest.Skip(Math.Max(0, latest.Count - n)), Console.Out).ConfigureAwait(false);
            while (true)
            {
                read = await AuditReader.ReadAsync(store, after, Page, null, cancellationToken).ConfigureAwait(false);
                await PrintAsync(read.Records, Console.Out).ConfigureAwait(false);
                after = read.Next;
                if (read.More)
                {
                    continue;
                }

                if (!parse.GetValue(follow))
                {
                    return 0;
                }

                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return 0;
                }
            }
        }));
        return command;
    }

    private static Command ExportCommand()
    {
        var db = new DatabaseOptions();
        var since = new Option<string>("--since") { Description = "Records emitted at or after this time (ISO 8601, e.g. 2026-01-31T00:00:00Z).", Required = true };
        var until = new Option<string?>("--until") { Description = "Records emitted before this time (default: now)." };
        var format = new Option<string>("--format") { Description = "Output format: jsonl (one record per line).", DefaultValueFactory = _ => "jsonl" };
        var output = new Option<string?>("--output", "-o") { Description = "File to write (default: standard output)." };
        format.AcceptOnlyFromAmong("jsonl");
        var command = new Command("export", "Write the records of a time range as JSON lines.") { since, until, format, output };
        db.AddTo(command);
        command.SetAction((parse, _) => Run(db, parse, async store =>
        {
            var from = ParseTime(parse.GetValue(since)!, "--since");
            var to = parse.GetValue(until) is { } u ? ParseTime(u, "--until") : (DateTime?)null;
            var path = parse.GetValue(output);
            var writer = path is null ? Console.Out : new StreamWriter(path, append: false, new UTF8Encoding(false));
            try
            {
                var after = AuditPosition.Start;
                AuditRead read;
                do
                {
                    read = await AuditReader.ReadAsync(store, after, Page, new AuditQuery(string.Empty, 0, Page) { From = from, To = to }, CancellationToken.None).ConfigureAwait(false);
                    await PrintAsync(read.Records, writer).ConfigureAwait(false);
                    after = read.Next;
                }
                while (read.More);
                await writer.FlushAsync().ConfigureAwait(false);
            }
            finally
            {
                if (path is not null)
                {
                    await writer.DisposeAsync().ConfigureAwait(false);
                }
            }

            return 0;
        }));
        return command;
    }

    /// <summary>Prints records, one canonical JSON line each.</summary>
    private static async Task PrintAsync(IEnumerable<StoredAuditRecord> records, TextWriter writer)
    {
        foreach (var row in records)
        {
            await writer.WriteLineAsync(Encoding.UTF8.GetString(row.Data)).ConfigureAwait(false);
        }
    }

    private static DateTime ParseTime(string text, string option) =>
        DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw new ArgumentException($"{option} {text}: expected an ISO 8601 time, e.g. 2026-01-31T00:00:00Z.");

    private static async Task<int> Run(DatabaseOptions database, ParseResult parse, Func<IAuditStore, Task<int>> action)
    {
        ServerOptions target;
        try
        {
            target = database.Resolve(parse);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }

        if (target.DatabaseFile is { } file && !File.Exists(file))
        {
            await Console.Error.WriteLineAsync($"{file}: no such database file.").ConfigureAwait(false);
            return 1;
        }

        try
        {
            await using var store = await DatabaseOptions.OpenAsync(target).ConfigureAwait(false); // migrates an older database so the audit tables exist; changes no data
            var codec = await EncryptionAtRest.CodecOfExistingAsync(store, target, CancellationToken.None).ConfigureAwait(false);
            return await action(new DecodedAuditStore(store.Audit, new AuditRecordCodec(codec))).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }
        catch (DatabaseOpenException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException
            or InvalidOperationException or InvalidDataException or System.ComponentModel.Win32Exception)
        {
            // Also a master key that is missing or does not open the database's keys (encrypted audit records).
            await Console.Error.WriteLineAsync($"{DatabaseOptions.Describe(target)}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
