using System.CommandLine;
using Bastion.Engine.Errors;
using Bastion.Frontend.OperatorService;
using Bastion.Server;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion server start-dev</c>: a development server, a drop-in for <c>temporal server start-dev</c>. It takes
/// every flag of Temporal's (and the global flags Temporal's CLI gives it), honours those that apply and reports the
/// others as ignored, saying why; any other option or argument is a usage error, so a mistyped flag (say
/// <c>--db-file</c>) cannot quietly start an in-memory server.
/// </summary>
internal static class StartDevCommand
{
    private const string NoWebUi = "Bastion's web UI (--ui-port) does not take this setting yet.";
    private const string ClientOnly = "it selects client connection settings, and start-dev connects to no server.";

    public static Command Create()
    {
        // Temporal's start-dev flags, honoured.
        var port = new Option<int>("--port", "-p") { Description = "gRPC port.", DefaultValueFactory = _ => 7233 };
        var ip = new Option<string>("--ip") { Description = "Address to bind (loopback only in dev mode; localhost is 127.0.0.1).", DefaultValueFactory = _ => "127.0.0.1" };
        var dbFile = new Option<string?>("--db-filename", "-f") { Description = "SQLite file for durable state; without it, state is in memory." };
        var namespaces = new Option<string[]>("--namespace", "-n") { Description = "Extra namespace to create (repeatable); 'default' always exists.", AllowMultipleArgumentsPerToken = false };
        var httpPort = new Option<int?>("--http-port") { Description = "Serve the HTTP API (JSON, Temporal's /api/v1 routes) on this port, plaintext on the same loopback address; 0 picks a free port." };
        var metricsPort = new Option<int?>("--metrics-port") { Description = "Serve /metrics (Prometheus), /healthz and /readyz on this port, on the same address; 0 picks a free port. Default: off." };
        var headless = new Option<bool>("--headless") { Description = "Do not serve the web UI." };
        var uiPort = new Option<int?>("--ui-port") { Description = "Web UI port (default 8233, on the same address); 0 picks a free port.", DefaultValueFactory = _ => 8233 };
        var dynamicConfig = new Option<string[]>("--dynamic-config-value") { Description = "Dynamic config value KEY=VALUE (repeatable); keys Bastion does not use are logged.", AllowMultipleArgumentsPerToken = false };
        var searchAttributes = new Option<string[]>("--search-attribute") { Description = "Custom search attribute NAME=TYPE to register in every namespace at start (repeatable); TYPE: Text, Keyword, Int, Double, Bool, Datetime or KeywordList.", AllowMultipleArgumentsPerToken = false };
        var sqlitePragmas = new Option<string[]>("--sqlite-pragma") { Description = "SQLite pragma PRAGMA=VALUE (repeatable): journal_mode=wal and synchronous=full are what Bastion always uses; pragmas that weaken durability are refused.", AllowMultipleArgumentsPerToken = false };
        var logConfig = new Option<bool>("--log-config") { Description = "Print the server's settings to stderr at start." };

        // Temporal's global flags that matter to a server.
        var logFormat = new Option<string>("--log-format") { Description = "pretty, text (the same) or json.", DefaultValueFactory = _ => "pretty" };
        logFormat.AcceptOnlyFromAmong("pretty", "text", "json");
        var logLevel = new Option<string>("--log-level") { Description = "debug, info, warn, error or never.", DefaultValueFactory = _ => "info" };
        logLevel.AcceptOnlyFromAmong("debug", "info", "warn", "error", "fatal", "never");
        var commandTimeout = new Option<string?>("--command-timeout") { Description = "Stop the server after this long, e.g. 30s, 10m, 1h30m (0: never)." };

        // Bastion's own.
        var namespaceRps = new Option<int?>("--namespace-rps") { Description = LimitSyntax.RequestsDescription };
        var namespaceAps = new Option<int?>("--namespace-aps") { Description = LimitSyntax.ActionsDescription };
        var shards = new Option<int>("--shards") { Description = "Shard count of a new store.", DefaultValueFactory = _ => 4 };
        var clusterAddress = new Option<string?>("--cluster-address") { Description = "IP:PORT other nodes reach this one at: makes this server a node of the cluster on its --database-url (off loopback it needs the cluster's mutual TLS)." };
        var nodeName = new Option<string?>("--node-name") { Description = "This node's name in the cluster (default: host name and cluster port)." };
        var clusterCert = new Option<string?>("--cluster-cert-file") { Description = "This node's certificate (PEM, issued by the cluster CA) for the cluster's mutual TLS." };
        var clusterKey = new Option<string?>("--cluster-key-file") { Description = "This node's private key (PEM) for the cluster's mutual TLS." };
        var clusterCa = new Option<string?>("--cluster-ca-file") { Description = "The cluster CA (PEM) every node's certificate must chain to." };
        var tls = new Option<bool>("--tls") { Description = "Serve TLS 1.3 with a local CA and server certificate (created on first use) and print how to connect." };
        var tlsDir = new Option<string?>("--tls-dir") { Description = "Where --tls keeps its CA and certificates (default: the user's data directory, bastion/dev-tls)." };
        var auditExport = new Option<string?>("--audit-export") { Description = "Audit export sinks, comma-separated: stdout, file:PATH (rotating JSON lines), http(s)://URL (batched POSTs)." };
        var auditRetention = new Option<string?>("--audit-retention-days") { Description = "How long audit records are kept (default 90)." };
        var auditLog = new Option<string?>("--audit-log") { Description = "on (default) or off: off keeps no durable audit log (for measuring its cost only)." };
        var encryption = new Option<string>("--encryption") { Description = "Encryption at rest: on (default; an in-memory store uses an ephemeral key) or off (databases written without it).", DefaultValueFactory = _ => "on" };
        var dbUrl = DatabaseChoice.UrlOption();
        var masterKeyFile = new Option<string?>("--master-key-file") { Description = "Master key file, created with mode 0600 when missing (default: <db-filename>.master-key; with --database-url this, BASTION_MASTER_KEY or --master-key-command is required)." };
        var masterKeyCommand = new Option<string?>("--master-key-command") { Description = "A command that prints the master key in base64 (a KMS hook)." };
        encryption.AcceptOnlyFromAmong("on", "off");

        var unused = new UnusedOptions();
        unused.Add(new Option<string?>("--ui-ip") { Description = "Accepted for Temporal compatibility; the web UI does not take it yet." }, NoWebUi);
        unused.Add(new Option<string?>("--ui-public-path") { Description = "Accepted for Temporal compatibility; the web UI does not take it yet." }, NoWebUi);
        unused.Add(new Option<string?>("--ui-asset-path") { Description = "Accepted for Temporal compatibility; the web UI does not take it yet." }, NoWebUi);
        unused.Add(
            new Option<string?>("--ui-codec-endpoint") { Description = "Accepted for Temporal compatibility; the web UI does not take it yet (see bastion namespace update --codec-endpoint)." },
            NoWebUi + " A namespace's codec server is set with `bastion namespace update --codec-endpoint`.");
        unused.Add(new Option<bool>("--ui-disable-news-fetch") { Description = "Accepted for Temporal compatibility; the web UI does not take it yet." }, NoWebUi);
        foreach (var name in new[] { "--env", "--env-file", "--config-file", "--profile" })
        {
            unused.Add(new Option<string?>(name) { Description = "Accepted for Temporal compatibility: a client setting." }, ClientOnly);
        }

        foreach (var name in new[] { "--disable-config-file", "--disable-config-env" })
        {
            unused.Add(new Option<bool>(name) { Description = "Accepted for Temporal compatibility: a client setting." }, ClientOnly);
        }

        unused.Add(new Option<string?>("--client-connect-timeout") { Description = "Accepted for Temporal compatibility: a client setting." }, ClientOnly);
        var output = new Option<string?>("--output", "-o") { Description = "Accepted for Temporal compatibility (text, json, jsonl, none); the banner is text." };
        output.AcceptOnlyFromAmong("text", "json", "jsonl", "none");
        unused.Add(output, "start-dev prints its banner as text.");
        var timeFormat = new Option<string?>("--time-format") { Description = "Accepted for Temporal compatibility (relative, iso, raw); start-dev prints no times." };
        timeFormat.AcceptOnlyFromAmong("relative", "iso", "raw");
        unused.Add(timeFormat, "start-dev prints no times.");
        var color = new Option<string?>("--color") { Description = "Accepted for Temporal compatibility (always, never, auto)." };
        color.AcceptOnlyFromAmong("always", "never", "auto");
        unused.Add(color, "the console log colours itself when the output is a terminal.");
        unused.Add(new Option<bool>("--no-json-shorthand-payloads") { Description = "Accepted for Temporal compatibility; start-dev prints no payloads." }, "start-dev prints no payloads.");

        var command = new Command("start-dev", "Start a development server: plaintext on loopback, namespace 'default', no credentials needed.")
        {
            port, ip, dbFile, namespaces, httpPort, metricsPort, headless, uiPort, dynamicConfig, searchAttributes, sqlitePragmas, logConfig,
            logFormat, logLevel, commandTimeout,
            shards, tls, tlsDir, auditExport, auditRetention, auditLog, encryption, dbUrl, masterKeyFile, masterKeyCommand,
            clusterAddress, nodeName, clusterCert, clusterKey, clusterCa, namespaceRps, namespaceAps,
        };
        foreach (var option in unused.Options)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new ServerOptions
            {
                Port = parse.GetValue(port),
                Ip = parse.GetValue(ip) is "localhost" ? "127.0.0.1" : parse.GetValue(ip)!, // as Temporal's start-dev: the server needs an address
                LogFormat = ServerRunner.LogFormat(parse.GetValue(logFormat)),
                LogLevel = ServerRunner.LogLevel(parse.GetValue(logLevel)),
                ShardCount = parse.GetValue(shards),
                ClusterAddress = parse.GetValue(clusterAddress),
                NodeName = parse.GetValue(nodeName),
                ClusterCertFile = parse.GetValue(clusterCert),
                ClusterKeyFile = parse.GetValue(clusterKey),
                ClusterCaFile = parse.GetValue(clusterCa),
                HttpPort = parse.GetValue(httpPort),
                MetricsPort = parse.GetValue(metricsPort),
                UiPort = parse.GetValue(headless) ? null : parse.GetValue(uiPort),
                Encryption = parse.GetValue(encryption) == "on",
                MasterKeyFile = parse.GetValue(masterKeyFile),
                MasterKeyCommand = parse.GetValue(masterKeyCommand),
            };
            TimeSpan? stopAfter;
            try
            {
                DatabaseChoice.Apply(options, parse.GetValue(dbFile), DatabaseChoice.Url(parse, dbUrl));
                options.NamespaceRequestsPerSecond = LimitSyntax.Positive("--namespace-rps", parse.GetValue(namespaceRps));
                options.NamespaceActionsPerSecond = LimitSyntax.Positive("--namespace-aps", parse.GetValue(namespaceAps));
                foreach (var name in (parse.GetValue(namespaces) ?? []).Where(n => n != "default").Distinct(StringComparer.Ordinal))
                {
                    options.Namespaces.Add(name);
                }

                foreach (var pair in parse.GetValue(dynamicConfig) ?? [])
                {
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    options.DynamicConfig[eq > 0 ? pair[..eq] : throw new ArgumentException($"--dynamic-config-value {pair}: expected KEY=VALUE.")] = pair[(eq + 1)..];
                }

                foreach (var (name, type) in (parse.GetValue(searchAttributes) ?? []).Select(SearchAttributeSyntax.Parse))
                {
                    options.SearchAttributes[name] = type; // the last one given wins, as in Temporal's
                }

                CheckSearchAttributeNames(options.SearchAttributes);
                foreach (var note in SqlitePragmas.Check(parse.GetValue(sqlitePragmas) ?? []))
                {
                    await Console.Error.WriteLineAsync(note).ConfigureAwait(false);
                }

                stopAfter = parse.GetValue(commandTimeout) is { } timeout && timeout != "0" ? DurationSyntax.Parse(timeout, "--command-timeout") : null;
                AuditSettings.Apply(options.Audit, parse.GetValue(auditExport), parse.GetValue(auditRetention), parse.GetValue(auditLog));
            }
            catch (Exception e) when (e is ArgumentException or ServiceException)
            {
                await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
                return BastionCommand.UsageError;
            }

            await unused.ReportAsync(parse, Console.Error).ConfigureAwait(false);
            DevTls? devTls = null;
            if (parse.GetValue(tls))
            {
                devTls = DevTls.Prepare(parse.GetValue(tlsDir) ?? DevTls.DefaultDirectory());
                options.TlsCertFile = devTls.ServerCertificateFile;
                options.TlsKeyFile = devTls.ServerKeyFile;
                options.BaseDomain = DevTls.BaseDomain;
            }

            if (parse.GetValue(logConfig))
            {
                await PrintSettingsAsync(options, Console.Error).ConfigureAwait(false);
            }

            using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            return await ServerRunner.RunAsync(options, async server =>
            {
                if (stopAfter is { } after && after > TimeSpan.Zero)
                {
                    timeoutSource.CancelAfter(after); // counted from the start: a slow start is not cut short
                }

                if (devTls is not null)
                {
                    await devTls.TrustForDefaultNamespaceAsync(server).ConfigureAwait(false);
                }

                var transport = devTls is null ? "plaintext, loopback only" : "TLS 1.3";
                Console.WriteLine($"Bastion dev server on {server.Address} (gRPC, {transport})");
                Console.WriteLine($"  Namespace:  default{string.Concat(options.Namespaces.Select(n => ", " + n))}");
                Console.WriteLine($"  Storage:    {StorageProviders.Describe(options)}");
                Console.WriteLine($"  HTTP API:   {(server.HttpAddress is { } httpAddress ? $"{(devTls is null ? "http" : "https")}://{httpAddress}/api/v1 ({transport})" : "off (pass --http-port to serve it)")}");
                Console.WriteLine($"  Web UI:     {(server.UiAddress is { } uiAddress ? $"{(devTls is null ? "http" : "https")}://{uiAddress}" : "off (--headless)")}");
                if (server.MetricsAddress is { } metricsAddress)
                {
                    Console.WriteLine($"  Metrics:    {(devTls is null ? "http" : "https")}://{metricsAddress}/metrics (and /healthz, /readyz)");
                }

                devTls?.PrintHowToConnect(server.Address);
            }, timeoutSource.Token).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Bad names are refused before anything starts, by the rules OperatorService applies.</summary>
    private static void CheckSearchAttributeNames(IDictionary<string, Visibility.SearchAttributeType> attributes)
    {
        try
        {
            CustomSearchAttributes.Add(new Dictionary<string, Visibility.SearchAttributeType>(), attributes);
        }
        catch (ServiceException e)
        {
            throw new ArgumentException($"--search-attribute: {e.Message}", e);
        }
    }

    /// <summary><c>--log-config</c>: the settings the server starts with, one per line.</summary>
    private static async Task PrintSettingsAsync(ServerOptions options, TextWriter error)
    {
        (string Name, object? Value)[] settings =
        [
            ("ip", options.Ip), ("port", options.Port), ("http-port", options.HttpPort), ("ui-port", options.UiPort), ("metrics-port", options.MetricsPort), ("db-filename", options.DatabaseFile ?? "(in memory)"),
            ("database-url", options.DatabaseUrl?.ToString() ?? "(none)"),
            ("namespaces", string.Join(",", options.Namespaces.Prepend("default"))),
            ("search-attributes", string.Join(",", options.SearchAttributes.Select(a => $"{a.Key}={a.Value}"))),
            ("dynamic-config", string.Join(",", options.DynamicConfig.Select(c => $"{c.Key}={c.Value}"))),
            ("log-level", options.LogLevel), ("log-format", options.LogFormat), ("shards", options.ShardCount),
            ("cluster-address", options.ClusterAddress ?? "(standalone)"), ("node-name", options.NodeName ?? "(default)"),
            ("cluster-tls", options.ClusterCertFile is null ? "off" : "on"),
            ("encryption", options.Encryption ? "on" : "off"), ("tls", options.TlsCertFile != null ? "on" : "off"),
            ("sqlite", "journal_mode=wal, synchronous=full"),
        ];
        foreach (var (name, value) in settings)
        {
            await error.WriteLineAsync($"{name}: {value}").ConfigureAwait(false);
        }
    }
}
