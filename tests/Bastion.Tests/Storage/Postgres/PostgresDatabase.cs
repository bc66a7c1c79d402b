using Bastion.Storage.Postgres;
using Npgsql;

namespace Bastion.Tests.Storage.Postgres;

/// <summary>
/// A fresh PostgreSQL database for one test class (an xunit class fixture), on the server that
/// <c>BASTION_TEST_DATABASE_URL</c> names (a superuser URL, exported by <c>.ci/postgres.sh</c>); dropped afterwards
/// with every database <see cref="CreateDatabaseAsync"/> made. Without the variable the class fails, never skips.
/// </summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    public const string Variable = "BASTION_TEST_DATABASE_URL";

    private readonly List<string> _created = [];
    private DatabaseUrl? _server;
    private DatabaseUrl? _url;
    private NpgsqlDataSource? _dataSource;

    /// <summary>What follows <c>CREATE DATABASE name</c> for the class's database, e.g. a locale.</summary>
    public string CreateOptions { get; init; } = string.Empty;

    /// <summary>The superuser URL of the test server (its maintenance database).</summary>
    public DatabaseUrl Server => _server ?? throw NotStarted();

    /// <summary>The class's own database.</summary>
    public DatabaseUrl Url => _url ?? throw NotStarted();

    public NpgsqlDataSource DataSource => _dataSource ?? throw NotStarted();

    /// <summary>
    /// The URL text of database <paramref name="name"/> on the test server, password included: for a child process
    /// (the <c>bastion</c> executable) that takes <c>--database-url</c>.
    /// </summary>
    public static string UrlText(string name)
    {
        var server = Environment.GetEnvironmentVariable(Variable) ?? throw new InvalidOperationException($"{Variable} is not set.");
        return server[..(server.LastIndexOf('/') + 1)] + name;
    }

    /// <summary>The test server's password, for tests that show it never reaches an output.</summary>
    public static string ServerPassword =>
        (Environment.GetEnvironmentVariable(Variable) ?? throw new InvalidOperationException($"{Variable} is not set.")).Split('@')[0].Split(':')[^1];

    public static DatabaseUrl ServerFromEnvironment() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } text
            ? DatabaseUrl.Parse(text)
            : throw new InvalidOperationException(
                $"{Variable} is not set, so the PostgreSQL tests cannot run. Start a throwaway server first: "
                + ". .ci/postgres.sh && pg_start (it exports the variable; pg_stop ends it).");

    public async Task InitializeAsync()
    {
        _server = ServerFromEnvironment();
        _url = await CreateDatabaseAsync(CreateOptions);
        _dataSource = _url.CreateDataSource();
    }

    /// <summary>Another empty database on the same server, dropped with the class's.</summary>
    public async Task<DatabaseUrl> CreateDatabaseAsync(string options = "")
    {
        var name = $"bastion_t_{Guid.NewGuid():N}";
        await AdminAsync($"CREATE DATABASE {name} {options};");
        _created.Add(name);
        return Server.WithDatabase(name);
    }

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        foreach (var name in _created)
        {
            // FORCE ends connections a test left open (e.g. in another pool).
            await AdminAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE);");
        }
    }

    private async Task AdminAsync(string sql)
    {
        await using var dataSource = Server.CreateDataSource();
        await using var connection = await PostgresConnections.OpenAsync(dataSource, CancellationToken.None);
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync();
    }

    private static InvalidOperationException NotStarted() => new("The PostgreSQL test database is not created yet.");
}
