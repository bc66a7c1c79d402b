using Microsoft.Data.Sqlite;

namespace Bastion.Tests.Encryption;

/// <summary>A test that owns a temp directory for a database file (and its WAL and master key), deleted at the end.</summary>
public abstract class StoreDirectoryTest : IAsyncLifetime
{
    protected string StoreDirectory { get; } = Path.Combine(Path.GetTempPath(), "bastion-crypto-" + Guid.NewGuid().ToString("N"));

    protected string DatabaseFile => Path.Combine(StoreDirectory, "bastion.db");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(StoreDirectory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(StoreDirectory, recursive: true);
        return Task.CompletedTask;
    }
}
