using System.CommandLine;
using Bastion.Server;
using Bastion.Storage.Postgres;

namespace Bastion.Cli;

/// <summary>
/// Which database a command works on: a SQLite file (<c>--db-filename</c>) or a PostgreSQL database
/// (<c>--database-url</c>, or <c>BASTION_DATABASE_URL</c>, which keeps the password off the command line and out of
/// the process list). Giving both, or a URL that does not parse, is a usage error; the password is never printed.
/// </summary>
internal static class DatabaseChoice
{
    public const string UrlVariable = "BASTION_DATABASE_URL";

    public const string UrlDescription =
        "PostgreSQL database for durable state, postgres://USER:PASS@HOST:PORT/DB (or BASTION_DATABASE_URL, which keeps the password off the command line).";

    public static Option<string?> UrlOption() => new("--database-url") { Description = UrlDescription };

    /// <summary>Sets the options' store from a file and a URL (either may be null); <see cref="ArgumentException"/> for both or a bad URL.</summary>
    public static void Apply(ServerOptions options, string? file, string? url)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (file is not null && url is not null)
        {
            throw new ArgumentException($"--db-filename (SQLite) and --database-url (PostgreSQL; or {UrlVariable}) both choose the database; give one of them.");
        }

        options.DatabaseFile = file;
        try
        {
            options.DatabaseUrl = url is null ? null : DatabaseUrl.Parse(url);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"--database-url: {e.Message}", e); // the parse errors never hold the password
        }
    }

    /// <summary>The URL from the option, else the environment.</summary>
    public static string? Url(ParseResult parse, Option<string?> option)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.GetValue(option) is { Length: > 0 } given ? given
            : Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
            : null;
    }
}
