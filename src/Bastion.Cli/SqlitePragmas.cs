namespace Bastion.Cli;

/// <summary>
/// <c>--sqlite-pragma NAME=VALUE</c>: Temporal's dev server takes <c>journal_mode</c> and <c>synchronous</c>. Bastion's
/// store always runs WAL with <c>synchronous=FULL</c> (an acknowledged call is on disk), so a pragma that restates that
/// is accepted, one that would weaken it is refused, and any other is refused as Temporal refuses it.
/// </summary>
internal static class SqlitePragmas
{
    /// <summary>Throws <see cref="ArgumentException"/> for a refused pragma; returns notes for accepted ones that change nothing.</summary>
    public static IReadOnlyList<string> Check(IEnumerable<string> pragmas)
    {
        ArgumentNullException.ThrowIfNull(pragmas);
        var notes = new List<string>();
        foreach (var pragma in pragmas)
        {
            var eq = pragma.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"--sqlite-pragma {pragma}: expected PRAGMA=VALUE.");
            }

            var name = pragma[..eq].Trim().ToLowerInvariant();
            var value = pragma[(eq + 1)..].Trim().Trim('"').ToLowerInvariant();
            switch (name, value)
            {
                case ("journal_mode", "wal"):
                case ("synchronous", "full" or "2"):
                    break;
                case ("synchronous", "extra" or "3"):
                    notes.Add($"Ignoring --sqlite-pragma {pragma}: Bastion uses synchronous=FULL, and in WAL mode EXTRA syncs nothing more.");
                    break;
                case ("journal_mode", _):
                    throw new ArgumentException($"--sqlite-pragma {pragma}: Bastion's store always runs in WAL mode (journal_mode=wal); it cannot be changed.");
                case ("synchronous", _):
                    throw new ArgumentException(
                        $"--sqlite-pragma {pragma}: refused, it would let a crash or power loss drop acknowledged writes; Bastion keeps synchronous=FULL.");
                default:
                    throw new ArgumentException($"--sqlite-pragma {pragma}: unsupported SQLite pragma {name}; supported: journal_mode, synchronous.");
            }
        }

        return notes;
    }
}
