using System.Net.Sockets;
using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>
/// Opening a connection from a pool, with a failure to open turned into <see cref="DatabaseOpenException"/>: the
/// operator sees which database (redacted) and why in one line, instead of Npgsql's layered exceptions.
/// </summary>
public static class PostgresConnections
{
    public static async Task<NpgsqlConnection> OpenAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        try
        {
            return await dataSource.OpenConnectionAsync(ct);
        }
        catch (Exception e) when ((e is NpgsqlException or TimeoutException) && !ct.IsCancellationRequested)
        {
            // The data source's connection string has no password (Persist Security Info is off).
            var database = DatabaseUrl.Redacted(new NpgsqlConnectionStringBuilder(dataSource.ConnectionString));
            throw new DatabaseOpenException(database, Cause(e), e);
        }
    }

    /// <summary>The server's own words when it answered (e.g. a failed password); else the innermost error's.</summary>
    private static string Cause(Exception e)
    {
        if (e is PostgresException postgres)
        {
            return OneLine(postgres.MessageText);
        }

        var inner = e;
        while (inner.InnerException is { } next)
        {
            inner = next;
        }

        return inner switch
        {
            SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused",
            SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData } =>
                "the host name does not resolve",
            TimeoutException => "no answer within the connect timeout",
            _ => OneLine(inner.Message),
        };
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
