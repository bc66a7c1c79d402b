using System.CommandLine;
using Bastion.Server;
using Microsoft.Extensions.Logging;

namespace Bastion.Cli;

/// <summary>The <c>bastion</c> command line.</summary>
internal static class BastionCommand
{
    public static RootCommand Create()
    {
        var root = new RootCommand("Bastion: a self-hostable, secure Temporal-compatible server.");
        var server = new Command("server", "Run a Bastion server.");
        server.Subcommands.Add(StartDevCommand());
        root.Subcommands.Add(server);
        return root;
    }

    private static Command StartDevCommand()
    {
        var port = new Option<int>("--port", "-p") { Description = "gRPC port.", DefaultValueFactory = _ => 7233 };
        var ip = new Option<string>("--ip") { Description = "Address to bind (loopback only in dev mode).", DefaultValueFactory = _ => "127.0.0.1" };
        var dbFile = new Option<string?>("--db-filename", "-f") { Description = "SQLite file for durable state; without it, state is in memory." };
        var namespaces = new Option<string[]>("--namespace", "-n") { Description = "Extra namespace to create (repeatable).", AllowMultipleArgumentsPerToken = false };
        var dynamicConfig = new Option<string[]>("--dynamic-config-value") { Description = "Dynamic config value K=V (repeatable).", AllowMultipleArgumentsPerToken = false };
        var logFormat = new Option<string>("--log-format") { Description = "pretty or json.", DefaultValueFactory = _ => "pretty" };
        var logLevel = new Option<string>("--log-level") { Description = "debug, info, warn or error.", DefaultValueFactory = _ => "info" };
        var headless = new Option<bool>("--headless") { Description = "Do not serve the web UI." };
        var uiPort = new Option<int?>("--ui-port") { Description = "Web UI port (the UI is not in this version)." };
        var httpPort = new Option<int?>("--http-port") { Description = "Serve the HTTP API (JSON, Temporal's /api/v1 routes) on this port, plaintext on the same loopback address; 0 picks a free port." };
        var shards = new Option<int>("--shards") { Description = "Shard count of a new store.", DefaultValueFactory = _ => 4 };
        logFormat.AcceptOnlyFromAmong("pretty", "json", "text");
        logLevel.AcceptOnlyFromAmong("debug", "info", "warn", "error", "fatal");

        var command = new Command("start-dev", "Start a development server: plaintext on loopback, namespace 'default', no credentials needed.")
        {
            port, ip, dbFile, namespaces, dynamicConfig, logFormat, logLevel, headless, uiPort, httpPort, shards,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new ServerOptions
            {
                Port = parse.GetValue(port),
                Ip = parse.GetValue(ip)!,
                DatabaseFile = parse.GetValue(dbFile),
                LogFormat = parse.GetValue(logFormat) == "json" ? "json" : "pretty",
                LogLevel = parse.GetValue(logLevel) switch
                {
                    "debug" => LogLevel.Debug,
                    "warn" => LogLevel.Warning,
                    "error" or "fatal" => LogLevel.Error,
                    _ => LogLevel.Information,
                },
                ShardCount = parse.GetValue(shards),
                HttpPort = parse.GetValue(httpPort),
            };
            foreach (var name in parse.GetValue(namespaces) ?? [])
            {
                options.Namespaces.Add(name);
            }

            foreach (var pair in parse.GetValue(dynamicConfig) ?? [])
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    await Console.Error.WriteLineAsync($"--dynamic-config-value {pair}: expected KEY=VALUE.").ConfigureAwait(false);
                    return 2;
                }

                options.DynamicConfig[pair[..eq]] = pair[(eq + 1)..];
            }

            foreach (var token in parse.UnmatchedTokens)
            {
                await Console.Error.WriteLineAsync($"Ignoring unsupported argument: {token}").ConfigureAwait(false);
            }

            BastionServer server;
            try
            {
                server = await BastionServer.StartAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                var ports = options.HttpPort is { } http ? $"{options.Port} (gRPC) or {http} (HTTP API)" : $"{options.Port}";
                await Console.Error.WriteLineAsync($"Cannot listen on {options.Ip}:{ports}: the port is in use. Stop what uses it or pass --port / --http-port.").ConfigureAwait(false);
                return 1;
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
                return 2;
            }

            await using var _ = server;
            Console.WriteLine($"Bastion dev server on {server.Address} (gRPC, plaintext, loopback only)");
            Console.WriteLine($"  Namespace:  default{string.Concat(options.Namespaces.Select(n => ", " + n))}");
            Console.WriteLine($"  Storage:    {(options.DatabaseFile is { } f ? Path.GetFullPath(f) + " (SQLite, durable)" : "in memory (lost on exit)")}");
            Console.WriteLine($"  HTTP API:   {(server.HttpAddress is { } httpAddress ? $"http://{httpAddress}/api/v1 (plaintext, loopback only)" : "off (pass --http-port to serve it)")}");
            Console.WriteLine("  Web UI:     not available in this version");
            Console.WriteLine("Press Ctrl+C to stop.");
            await server.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
