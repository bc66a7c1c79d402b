using Bastion.Server;

namespace Bastion.Cli;

/// <summary>Starts a server, prints its banner, runs until Ctrl+C; start failures become a message and an exit code.</summary>
internal static class ServerRunner
{
    public static async Task<int> RunAsync(ServerOptions options, Func<BastionServer, Task> started, CancellationToken cancellationToken)
    {
        BastionServer server;
        try
        {
            server = await BastionServer.StartAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            var ports = string.Join(" or ", new[] { $"{options.Port} (gRPC)", options.HttpPort is { } http ? $"{http} (HTTP API)" : null, options.UiPort is { } ui ? $"{ui} (web UI)" : null, options.MetricsPort is { } metrics ? $"{metrics} (metrics)" : null }.OfType<string>());
            await Console.Error.WriteLineAsync($"Cannot listen on {options.Ip}:{ports}: the port is in use. Stop what uses it or pass --port / --http-port / --ui-port (or --headless) / --metrics-port.").ConfigureAwait(false);
            return 1;
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }
        catch (Bastion.Engine.Cluster.ClusterJoinException e)
        {
            // A build more than one release away from a live node of the cluster (named with both ranges), or a clock
            // too far from the database's: start nothing.
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 1;
        }
        catch (Bastion.Storage.Postgres.DatabaseOpenException e)
        {
            // One line naming the database (redacted) and the cause: unreachable, refused credentials, no such database.
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 1;
        }

        await using var _ = server;
        await started(server).ConfigureAwait(false);
        Console.WriteLine("Press Ctrl+C to stop.");
        await server.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }

    /// <summary>A <c>--log-level</c> name (Temporal's, and <c>fatal</c>); null is info; another name is refused.</summary>
    public static Microsoft.Extensions.Logging.LogLevel LogLevel(string? name) => name switch
    {
        "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
        null or "info" => Microsoft.Extensions.Logging.LogLevel.Information,
        "warn" => Microsoft.Extensions.Logging.LogLevel.Warning,
        "error" or "fatal" => Microsoft.Extensions.Logging.LogLevel.Error,
        "never" => Microsoft.Extensions.Logging.LogLevel.None, // Temporal's CLI: no log at all
        _ => throw new ArgumentException($"--log-level {name}: expected debug, info, warn, error or never."),
    };

    /// <summary>A <c>--log-format</c> name: json, or pretty (Temporal's <c>text</c> is the same); null is pretty; another name is refused.</summary>
    public static string LogFormat(string? name) => name switch
    {
        "json" => "json",
        null or "pretty" or "text" => "pretty",
        _ => throw new ArgumentException($"--log-format {name}: expected pretty, text or json."),
    };
}
