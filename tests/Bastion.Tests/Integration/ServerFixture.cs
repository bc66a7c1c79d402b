using Bastion.Server;
using Temporalio.Client;
using Temporalio.Worker;

namespace Bastion.Tests.Integration;

/// <summary>
/// A real Bastion server for the SDK-driven tests: Kestrel on a loopback port, a real SQLite file in a temp
/// directory. Shared by the tests of a collection; each test uses its own task queue and workflow ids.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-tests-" + Guid.NewGuid().ToString("N"));

    internal BastionServer Server { get; private set; } = null!;

    public TemporalClient Client { get; private set; } = null!;

    public string DatabaseFile => Path.Combine(_directory, "bastion.db");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var options = new ServerOptions { Port = 0, DatabaseFile = DatabaseFile, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.Namespaces.Add("other");
        Server = await BastionServer.StartAsync(options);
        Client = await TemporalClient.ConnectAsync(new TemporalClientConnectOptions(Server.Address) { Namespace = "default" });
    }

    public static string NewTaskQueue() => "tq-" + Guid.NewGuid().ToString("N");

    /// <summary>Runs <paramref name="body"/> with a worker polling a fresh task queue.</summary>
    public async Task WithWorkerAsync(Action<TemporalWorkerOptions> configure, Func<string, Task> body, int maxCachedWorkflows = 1000)
    {
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(body);
        var taskQueue = NewTaskQueue();
        var options = new TemporalWorkerOptions(taskQueue) { MaxCachedWorkflows = maxCachedWorkflows };
        configure(options);
        using var worker = new TemporalWorker(Client, options);
        // A bound on every test body: a workflow that never finishes fails its test instead of hanging the suite.
        await worker.ExecuteAsync(() => body(taskQueue).WaitAsync(TimeSpan.FromSeconds(90)));
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
