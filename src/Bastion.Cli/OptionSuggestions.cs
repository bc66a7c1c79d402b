using System.CommandLine;
using System.CommandLine.Parsing;

namespace Bastion.Cli;

/// <summary>
/// What to say about an unknown option: the command's options it is a prefix of or extends (<c>--db-file</c> →
/// <c>--db-filename</c>), which edit distance alone ranks below shorter, unrelated names.
/// </summary>
internal static class OptionSuggestions
{
    /// <summary>The command as typed, e.g. <c>bastion server start-dev</c>.</summary>
    public static string CommandPath(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var names = new List<string>();
        for (SymbolResult? result = parse.CommandResult; result != null; result = result.Parent)
        {
            if (result is CommandResult command)
            {
                names.Insert(0, command.Command is RootCommand ? "bastion" : command.Command.Name); // not the host's name (dotnet, testhost)
            }
        }

        return string.Join(' ', names);
    }

    /// <summary>One line per unknown option that has such a near name; empty when none has.</summary>
    public static IReadOnlyList<string> For(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var known = parse.CommandResult.Command.Options.SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal)).ToList();
        var hints = new List<string>();
        foreach (var token in parse.UnmatchedTokens.Where(t => t.StartsWith("--", StringComparison.Ordinal)))
        {
            var name = token.Split('=', ':')[0];
            var near = known.Where(k => k != name && name.Length > 3 && (k.StartsWith(name, StringComparison.Ordinal) || name.StartsWith(k, StringComparison.Ordinal))).ToList();
            if (near.Count > 0)
            {
                hints.Add($"'{name}' is not an option of '{CommandPath(parse)}'. Did you mean {string.Join(" or ", near)}?");
            }
        }

        return hints;
    }
}
