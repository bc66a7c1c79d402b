using System.CommandLine;
using Bastion.Server;

namespace Bastion.Cli;

/// <summary>The <c>bastion</c> command line.</summary>
internal static class BastionCommand
{
    public static RootCommand Create()
    {
        var root = new RootCommand("Bastion: a self-hostable, secure Temporal-compatible server.");
        var server = new Command("server", "Run a Bastion server.");
        server.Subcommands.Add(StartDevCommand());
        server.Subcommands.Add(StartCommand.Create());
        root.Subcommands.Add(server);
        root.Subcommands.Add(CertsCommand.Create());
        root.Subcommands.Add(NamespaceCommand.Create());
        root.Subcommands.Add(AuditCommand.Create());
        root.Subcommands.Add(KeysCommand.Create());
        root.Subcommands.Add(CodecServerCommand.Create());
        root.Subcommands.Add(OperatorCommand.Create());
        root.Subcommands.Add(UserCommand.Create());
        root.Subcommands.Add(ServiceAccountCommand.Create());
        root.Subcommands.Add(ApiKeyCommand.Create());
        root.Subcommands.Add(GroupCommand.Create());
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
        var uiPort = new Option<int?>("--ui-port") { Description = "Web UI port (default 8233); 0 picks a free port.", DefaultValueFactory = _ => 8233 };
        var httpPort = new Option<int?>("--http-port") { Description = "Serve the HTTP API (JSON, Temporal's /api/v1 routes) on this port, plaintext on the same loopback address; 0 picks a free port." };
        var shards = new Option<int>("--shards") { Description = "Shard count of a new store.", DefaultValueFactory = _ => 4 };
        var tls = new Option<bool>("--tls") { Description = "Serve TLS 1.3 with a local CA and server certificate (created on first use) and print how to connect." };
        var auditExport = new Option<string?>("--audit-export") { Description = "Audit export sinks, comma-separated: stdout, file:PATH (rotating JSON lines), http(s)://URL (batched POSTs)." };
        var auditRetention = new Option<string?>("--audit-retention-days") { Description = "How long audit records are kept (default 90)." };
        var auditLog = new Option<string?>("--audit-log") { Description = "on (default) or off: off keeps no durable audit log (for measuring its cost only)." };
        var encryption = new Option<string>("--encryption") { Description = "Encryption at rest: on (default; an in-memory store uses an ephemeral key) or off (databases written without it).", DefaultValueFactory = _ => "on" };
        encryption.AcceptOnlyFromAmong("on", "off");
        var tlsDir = new Option<string?>("--tls-dir") { Description = "Where --tls keeps its CA and certificates (default: the user's data directory, bastion/dev-tls)." };
        logFormat.AcceptOnlyFromAmong("pretty", "json", "text");
        logLevel.AcceptOnlyFromAmong("debug", "info", "warn", "error", "fatal");

        var command = new Command("start-dev", "Start a development server: plaintext on loopback, namespace 'default', no credentials needed.")
        {
            port, ip, dbFile, namespaces, dynamicConfig, logFormat, logLevel, headless, uiPort, httpPort, shards, tls, tlsDir,
            auditExport, auditRetention, auditLog, encryption,
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
                LogLevel = ServerRunner.LogLevel(parse.GetValue(logLevel)),
                ShardCount = parse.GetValue(shards),
                HttpPort = parse.GetValue(httpPort),
                UiPort = parse.GetValue(headless) ? null : parse.GetValue(uiPort),
                Encryption = parse.GetValue(encryption) == "on",
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

            try
            {
                AuditSettings.Apply(options.Audit, parse.GetValue(auditExport), parse.GetValue(auditRetention), parse.GetValue(auditLog));
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
                return 2;
            }

            foreach (var token in parse.UnmatchedTokens)
            {
                await Console.Error.WriteLineAsync($"Ignoring unsupported argument: {token}").ConfigureAwait(false);
            }

            DevTls? devTls = null;
            if (parse.GetValue(tls))
            {
                devTls = DevTls.Prepare(parse.GetValue(tlsDir) ?? DevTls.DefaultDirectory());
                options.TlsCertFile = devTls.ServerCertificateFile;
                options.TlsKeyFile = devTls.ServerKeyFile;
                options.BaseDomain = DevTls.BaseDomain;
            }

            return await ServerRunner.RunAsync(options, server =>
            {
                devTls?.TrustForDefaultNamespace(server);
                var transport = devTls is null ? "plaintext, loopback only" : "TLS 1.3";
                Console.WriteLine($"Bastion dev server on {server.Address} (gRPC, {transport})");
                Console.WriteLine($"  Namespace:  default{string.Concat(options.Namespaces.Select(n => ", " + n))}");
                Console.WriteLine($"  Storage:    {(options.DatabaseFile is { } f ? Path.GetFullPath(f) + " (SQLite, durable)" : "in memory (lost on exit)")}");
                Console.WriteLine($"  HTTP API:   {(server.HttpAddress is { } httpAddress ? $"{(devTls is null ? "http" : "https")}://{httpAddress}/api/v1 ({transport})" : "off (pass --http-port to serve it)")}");
                Console.WriteLine($"  Web UI:     {(server.UiAddress is { } uiAddress ? $"{(devTls is null ? "http" : "https")}://{uiAddress}" : "off (--headless)")}");
                devTls?.PrintHowToConnect(server.Address);
                return Task.CompletedTask;
            }, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}
