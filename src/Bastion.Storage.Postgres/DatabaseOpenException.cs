namespace Bastion.Storage.Postgres;

/// <summary>
/// The database cannot be reached or refuses us (unreachable host, wrong credentials, missing database). Its message
/// is one line, <c>cannot open postgres://user@host:port/db: cause</c>, safe to print: it never holds a password.
/// </summary>
public sealed class DatabaseOpenException : Exception
{
    public DatabaseOpenException()
    {
    }

    public DatabaseOpenException(string message)
        : base(message)
    {
    }

    public DatabaseOpenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <param name="database">The redacted URL (<see cref="DatabaseUrl.ToString"/>).</param>
    /// <param name="cause">What went wrong, in a few words.</param>
    public DatabaseOpenException(string database, string cause, Exception innerException)
        : base($"cannot open {database}: {cause}", innerException)
    {
        Database = database;
    }

    /// <summary>The redacted URL of the database that could not be opened.</summary>
    public string? Database { get; }
}
