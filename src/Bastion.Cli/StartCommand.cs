using System.CommandLine;
using Bastion.Server;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion server start</c>: production mode. No dev-mode identity: callers authenticate (mTLS per namespace, API
/// keys, a web UI session signed in with one);
/// TLS 1.3 on every listener, and plaintext only on loopback. Settings from the command line, <c>BASTION_*</c>
/// environment variables or a JSON config file (see <see cref="StartSettings"/>).
/// </summary>
internal static class StartCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "JSON config file; keys are the long option names, e.g. {\"tls-cert-file\": \"server.pem\"}." };
        var dbFile = new Option<string?>("--db-filename", "-f") { Description = "SQLite file for durable state (this or --database-url is required)." };
        var dbUrl = DatabaseChoice.UrlOption();
        var account = new Option<string?>("--account") { Description = "The account this server serves; namespace hosts are <namespace>.<account>.<base-domain> (required)." };
        var baseDomain = new Option<string?>("--base-domain") { Description = "Base domain of the endpoints (required with TLS)." };
        var ip = new Option<string?>("--ip") { Description = "Address to bind (default 127.0.0.1; a non-loopback address needs TLS)." };
        var port = new Option<string?>("--port", "-p") { Description = "gRPC port (default 7233)." };
        var httpPort = new Option<string?>("--http-port") { Description = "HTTPS API port (default 7243): Temporal's HTTP API, TLS 1.3 like the gRPC listener." };
        var uiPort = new Option<string?>("--ui-port") { Description = "Web UI port (Temporal's UI, HTTPS with the server certificate; sign-in with an API key). Default: no UI." };
        var metricsPort = new Option<string?>("--metrics-port") { Description = "Metrics port: /metrics for Prometheus, /healthz and /readyz (TLS like the other listeners when configured). Default: off." };
        var uiSessionTimeout = new Option<string?>("--ui-session-timeout") { Description = "A web UI session ends this long after sign-in (default 8h)." };
        var uiIdleTimeout = new Option<string?>("--ui-session-idle-timeout") { Description = "A web UI session ends after this long unused (default 30m)." };
        var certFile = new Option<string?>("--tls-cert-file") { Description = "Server certificate, PEM (leaf first, intermediates may follow); reloaded when it changes." };
        var keyFile = new Option<string?>("--tls-key-file") { Description = "Server private key, PEM; reloaded when it changes." };
        var logLevel = new Option<string?>("--log-level") { Description = "debug, info, warn, error or never (default info)." };
        var logFormat = new Option<string?>("--log-format") { Description = "pretty, text (the same) or json (default pretty)." };
        var auditExport = new Option<string?>("--audit-export") { Description = "Audit export sinks, comma-separated: stdout, file:PATH (rotating JSON lines), http(s)://URL (batched POSTs); delivered at least once." };
        var auditRetention = new Option<string?>("--audit-retention-days") { Description = "How long audit records are kept (default 90)." };
        var auditLog = new Option<string?>("--audit-log") { Description = "on (default) or off: off keeps no durable audit log (for measuring its cost only)." };
        var encryption = new Option<string?>("--encryption") { Description = "Encryption at rest: on (default) or off (only for a database written without it)." };
        var masterKeyFile = new Option<string?>("--master-key-file") { Description = "Master key file, created with mode 0600 when missing (default: <db-filename>.master-key; PostgreSQL has no default). BASTION_MASTER_KEY (base64) gives the key itself instead." };
        var masterKeyCommand = new Option<string?>("--master-key-command") { Description = "A command that prints the master key in base64 (a KMS hook); wins over the file and BASTION_MASTER_KEY." };
        var clusterAddress = new Option<string?>("--cluster-address") { Description = "IP:PORT other nodes reach this one at: makes this server a node of the cluster on its --database-url (off loopback it needs the cluster's mutual TLS)." };
        var clusterCert = new Option<string?>("--cluster-cert-file") { Description = "This node's certificate (PEM, issued by the cluster CA) for the cluster's mutual TLS." };
        var clusterKey = new Option<string?>("--cluster-key-file") { Description = "This node's private key (PEM) for the cluster's mutual TLS." };
        var clusterCa = new Option<string?>("--cluster-ca-file") { Description = "The cluster CA (PEM) every node's certificate must chain to." };
        var nodeName = new Option<string?>("--node-name") { Description = "This node's name in the cluster (default: host name and cluster port)." };
        var namespaceRps = new Option<string?>("--namespace-rps") { Description = LimitSyntax.RequestsDescription };
        var namespaceAps = new Option<string?>("--namespace-aps") { Description = LimitSyntax.ActionsDescription };
        Option<string?>[] settings = [dbFile, dbUrl, clusterAddress, nodeName, clusterCert, clusterKey, clusterCa, account, baseDomain, ip, port, httpPort, uiPort, metricsPort, uiSessionTimeout, uiIdleTimeout, certFile, keyFile, logLevel, logFormat, auditExport, auditRetention, auditLog,
            encryption, masterKeyFile, masterKeyCommand, namespaceRps, namespaceAps];

        var command = new Command("start", "Start a production server: TLS 1.3, per-namespace mTLS, no dev-mode identity.") { config };
        foreach (var option in settings)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            ServerOptions options;
            try
            {
                var values = StartSettings.Load(parse, parse.GetValue(config), settings, Environment.GetEnvironmentVariable);
                options = new ServerOptions
                {
                    DevMode = false,
                    Account = values.Get(account) ?? throw new ArgumentException($"--account is required (or {StartSettings.EnvironmentVariable(account)}, or \"account\" in the config file)."),
                    BaseDomain = values.Get(baseDomain),
                    Ip = values.Get(ip) ?? "127.0.0.1",
                    Port = values.GetInt(port, 7233),
                    HttpPort = values.GetInt(httpPort, 7243),
                    UiPort = values.Get(uiPort) is null ? null : values.GetInt(uiPort, 0),
                    MetricsPort = values.Get(metricsPort) is null ? null : values.GetInt(metricsPort, 0),
                    TlsCertFile = values.GetPath(certFile),
                    TlsKeyFile = values.GetPath(keyFile),
                    LogLevel = ServerRunner.LogLevel(values.Get(logLevel)),
                    LogFormat = ServerRunner.LogFormat(values.Get(logFormat)),
                    Encryption = values.Get(encryption) switch
                    {
                        null or "on" => true,
                        "off" => false,
                        var other => throw new ArgumentException($"--encryption {other}: expected on or off."),
                    },
                    MasterKeyFile = values.GetPath(masterKeyFile),
                    MasterKeyCommand = values.Get(masterKeyCommand),
                    ClusterAddress = values.Get(clusterAddress),
                    NodeName = values.Get(nodeName),
                    ClusterCertFile = values.GetPath(clusterCert),
                    ClusterKeyFile = values.GetPath(clusterKey),
                    ClusterCaFile = values.GetPath(clusterCa),

                    // A secret: from the environment only, never a command-line option (visible to every process).
                    OwnerApiKey = Environment.GetEnvironmentVariable("BASTION_OWNER_API_KEY") is { Length: > 0 } chosen ? chosen : null,
                };
                DatabaseChoice.Apply(options, values.GetPath(dbFile), values.Get(dbUrl));
                options.NamespaceRequestsPerSecond = LimitSyntax.Positive("--namespace-rps", values.Get(namespaceRps) is null ? null : values.GetInt(namespaceRps, 0));
                options.NamespaceActionsPerSecond = LimitSyntax.Positive("--namespace-aps", values.Get(namespaceAps) is null ? null : values.GetInt(namespaceAps, 0));
                if (options.DatabaseFile is null && options.DatabaseUrl is null)
                {
                    throw new ArgumentException(
                        $"--db-filename or --database-url is required (or {StartSettings.EnvironmentVariable(dbFile)} / {StartSettings.EnvironmentVariable(dbUrl)}, or \"db-filename\" / \"database-url\" in the config file).");
                }

                if (values.Get(uiSessionTimeout) is { } absolute)
                {
                    options.UiSessions.AbsoluteTimeout = DurationSyntax.Parse(absolute, "--ui-session-timeout");
                }

                if (values.Get(uiIdleTimeout) is { } idle)
                {
                    options.UiSessions.IdleTimeout = DurationSyntax.Parse(idle, "--ui-session-idle-timeout");
                }

                AuditSettings.Apply(options.Audit, values.Get(auditExport), values.Get(auditRetention), values.Get(auditLog));
            }
            catch (Exception e) when (e is ArgumentException or Engine.Errors.ServiceException)
            {
                await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
                return 2;
            }

            return await ServerRunner.RunAsync(options, server =>
            {
                var tls = options.TlsCertFile != null;
                Console.WriteLine($"Bastion server on {server.Address} (gRPC, {(tls ? "TLS 1.3" : "plaintext, loopback only")})");
                Console.WriteLine($"  Account:    {options.Account}");
                if (tls)
                {
                    Console.WriteLine($"  Endpoints:  <namespace>.{options.Account}.{options.BaseDomain}:{server.Port} (mTLS with the namespace's CA); {options.BaseDomain}:{server.Port} (shared host)");
                }
                else
                {
                    Console.WriteLine("  Warning:    without TLS no client can authenticate (client certificates need TLS); use --tls-cert-file and --tls-key-file.");
                }

                Console.WriteLine($"  Storage:    {StorageProviders.Describe(options)}");
                if (server.BootstrapOwnerApiKey is { } ownerKey)
                {
                    // Printed once to the terminal, never to the log: only its hash is stored.
                    Console.WriteLine($"  Owner key:  {ownerKey}");
                    Console.WriteLine("              (the account's first owner's API key: shown only now; keep it secret)");
                }

                Console.WriteLine($"  HTTP API:   {(tls ? "https" : "http")}://{server.HttpAddress}/api/v1");
                if (server.UiAddress is { } ui)
                {
                    Console.WriteLine($"  Web UI:     {(tls ? "https" : "http")}://{ui} (sign in with an API key)");
                }

                if (server.MetricsAddress is { } metrics)
                {
                    Console.WriteLine($"  Metrics:    {(tls ? "https" : "http")}://{metrics}/metrics (and /healthz, /readyz)");
                }
                return Task.CompletedTask;
            }, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}
