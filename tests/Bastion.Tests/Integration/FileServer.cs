using Bastion.Server;
using Microsoft.Data.Sqlite;
using Temporalio.Client;

namespace Bastion.Tests.Integration;

/// <summary>An in-process server on a SQLite file of its own that a test can stop and start again (same file, same clock).</summary>
internal sealed class FileServer(TimeProvider? time = null)
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-file-" + Guid.NewGuid().ToString("N"));
    private BastionServer? _server;

    public string DatabaseFile => Path.Combine(_directory, "bastion.db");

    public TemporalClient Client { get; private set; } = null!;

    /// <summary>The running server.</summary>
    public BastionServer Server => _server ?? throw new InvalidOperationException("The server is not running.");

    public Temporalio.Client.WorkflowService Service => Client.WorkflowService;

    /// <summary>Changes the options of the next start (and of every start after it, until set again).</summary>
    public Action<ServerOptions>? Configure { get; set; }

    public async Task StartAsync()
    {
        Directory.CreateDirectory(_directory);
        var options = new ServerOptions { Port = 0, DatabaseFile = DatabaseFile, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        if (time != null)
        {
            options.Time = time;
        }

        Configure?.Invoke(options);

        _server = await BastionServer.StartAsync(options);
        Client = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(_server.Address) { Namespace = "default" });
    }

    /// <summary>Stops the server; the file stays (and no pooled connection holds it).</summary>
    public async Task StopAsync()
    {
        if (_server != null)
        {
            await _server.DisposeAsync();
            _server = null;
        }

        SqliteConnection.ClearAllPools();
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    /// <summary>Stops the server and deletes its directory (the test class's IAsyncLifetime calls it).</summary>
    public async Task DeleteAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
