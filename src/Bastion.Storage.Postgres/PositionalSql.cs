using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Bastion.Storage.Postgres;

/// <summary>
/// A statement written with <c>@name</c> parameters, rewritten once into PostgreSQL's own <c>$1</c>, <c>$2</c>… form.
/// Npgsql sends a statement whose parameters are positional as it is; named ones it parses and rewrites on every
/// execution — on the commit path, a parse of each of a batch's dozens of statements every time.
/// </summary>
internal sealed class PositionalSql
{
    private static readonly ConcurrentDictionary<string, PositionalSql> s_cache = new(StringComparer.Ordinal);

    private PositionalSql(string sql, string[] names)
    {
        Sql = sql;
        Names = names;
    }

    /// <summary>The statement with <c>$n</c> placeholders (no trailing semicolon: the server parses exactly one statement).</summary>
    public string Sql { get; }

    /// <summary>The parameter names in position order: <c>$n</c> is <c>Names[n - 1]</c>.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>
    /// The rewritten form of <paramref name="sql"/> (cached: the commit path uses a few texts over and over). A parameter
    /// is <c>@</c> followed by a letter or underscore; <c>@&gt;</c> and the like are operators, and the statements this
    /// is used for hold no <c>@</c> inside string literals.
    /// </summary>
    public static PositionalSql Of(string sql) => s_cache.GetOrAdd(sql, Rewrite);

    public int IndexOf(string name)
    {
        for (var i = 0; i < Names.Count; i++)
        {
            if (string.Equals(Names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new ArgumentException($"The statement has no parameter @{name}: {Sql}", nameof(name));
    }

    private static PositionalSql Rewrite(string sql)
    {
        var names = new List<string>();
        var text = new StringBuilder(sql.Length);
        for (var i = 0; i < sql.Length; i++)
        {
            if (sql[i] == '@' && i + 1 < sql.Length && (char.IsAsciiLetter(sql[i + 1]) || sql[i + 1] == '_'))
            {
                var end = i + 1;
                while (end < sql.Length && (char.IsAsciiLetterOrDigit(sql[end]) || sql[end] == '_'))
                {
                    end++;
                }

                var name = sql[(i + 1)..end];
                var index = names.IndexOf(name);
                if (index < 0)
                {
                    names.Add(name);
                    index = names.Count - 1;
                }

                text.Append('$').Append((index + 1).ToString(CultureInfo.InvariantCulture));
                i = end - 1;
            }
            else
            {
                text.Append(sql[i]);
            }
        }

        return new PositionalSql(text.ToString().TrimEnd().TrimEnd(';'), [.. names]);
    }
}
