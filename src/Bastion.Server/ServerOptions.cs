using Microsoft.Extensions.Logging;

namespace Bastion.Server;

/// <summary>How to run a Bastion server.</summary>
public sealed class ServerOptions
{
    /// <summary>Address the gRPC listener binds.</summary>
    public string Ip { get; set; } = "127.0.0.1";

    /// <summary>gRPC port; 0 picks a free one (tests).</summary>
    public int Port { get; set; } = 7233;

    /// <summary>Server certificate (PEM, intermediates may follow the leaf) for TLS 1.3 on every listener; reloaded when it changes.</summary>
    public string? TlsCertFile { get; set; }

    /// <summary>The server certificate's private key (PEM).</summary>
    public string? TlsKeyFile { get; set; }

    /// <summary>With TLS: namespace hosts are <c>&lt;name&gt;.&lt;account&gt;.&lt;base-domain&gt;</c>; the certificate should cover them.</summary>
    public string? BaseDomain { get; set; }

    /// <summary>The account this server's namespaces belong to (production mode; dev mode uses <c>local</c>).</summary>
    public string Account { get; set; } = "local";

    /// <summary>Requests per second of an on-demand namespace (<c>--namespace-rps</c>); null: the default, 10 000.</summary>
    public int? NamespaceRequestsPerSecond { get; set; }

    /// <summary>Actions per second of an on-demand namespace (<c>--namespace-aps</c>); null: the default, 2 000.</summary>
    public int? NamespaceActionsPerSecond { get; set; }

    /// <summary>How often namespaces changed in the store by another process (the CLI) are picked up.</summary>
    public TimeSpan NamespaceRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Rows a deleted namespace's background purge removes per step (one short transaction each).</summary>
    public int NamespacePurgePageSize { get; set; } = Engine.Namespaces.NamespacePurgeOptions.Default.PageSize;

    /// <summary>The pause between two steps of a deleted namespace's purge (the purge's pace).</summary>
    public TimeSpan NamespacePurgePace { get; set; } = Engine.Namespaces.NamespacePurgeOptions.Default.Pace;

    /// <summary>HTTP API port (Temporal's convention is 7243); 0 picks a free one (tests); null serves no HTTP API.</summary>
    public int? HttpPort { get; set; }

    /// <summary>
    /// Web UI port (Temporal's dev server uses 8233): Temporal's UI with Bastion's HTTP API on the same origin; 0 picks a
    /// free one (tests); null serves no UI. Dev mode needs no sign-in; otherwise the UI signs in with an API key and
    /// keeps a session (<see cref="UiSessions"/>).
    /// </summary>
    public int? UiPort { get; set; }

    /// <summary>
    /// Metrics port: <c>/metrics</c> for Prometheus, <c>/healthz</c> and <c>/readyz</c> (<c>Metrics/MetricsHosting</c>); 0 picks a
    /// free one (tests); null (the default) serves no metrics listener and exports nothing.
    /// </summary>
    public int? MetricsPort { get; set; }

    /// <summary>The web UI's session timeouts (production mode): absolute 8 hours, idle 30 minutes by default.</summary>
    public Bastion.Security.Sessions.UiSessionOptions UiSessions { get; } = new();

    /// <summary>The SQLite file; null keeps everything in memory (gone when the process ends) unless <see cref="DatabaseUrl"/> is set.</summary>
    public string? DatabaseFile { get; set; }

    /// <summary>A PostgreSQL database instead of SQLite (not with <see cref="DatabaseFile"/>); its <c>ToString()</c> is redacted.</summary>
    public Bastion.Storage.Postgres.DatabaseUrl? DatabaseUrl { get; set; }

    /// <summary>Namespaces to create at start: in dev mode in account <c>local</c>, besides <c>default</c>; else in <see cref="Account"/>.</summary>
    public IList<string> Namespaces { get; } = [];

    /// <summary>
    /// Custom search attributes registered at start in <c>default</c> (dev mode) and every namespace in
    /// <see cref="Namespaces"/>, like Temporal's <c>start-dev --search-attribute</c>; already registered with the
    /// same type is fine, with another type the start fails.
    /// </summary>
    public IDictionary<string, Bastion.Visibility.SearchAttributeType> SearchAttributes { get; } =
        new Dictionary<string, Bastion.Visibility.SearchAttributeType>(StringComparer.Ordinal);

    /// <summary>Dev mode: loopback callers need no credentials. Plaintext is allowed only on loopback.</summary>
    public bool DevMode { get; set; } = true;

    /// <summary>Temporal-style dynamic config values (<c>K=V</c>); the keys Bastion uses change behaviour, others are logged.</summary>
    public IDictionary<string, string> DynamicConfig { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    /// <summary>"pretty" (console) or "json".</summary>
    public string LogFormat { get; set; } = "pretty";

    /// <summary>
    /// Stopping (SIGTERM): how long the listeners wait for calls in flight (long polls for tasks are answered empty at
    /// once) before the rest are cut off; then commits in flight finish and the shards are released.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Shards of a new cluster; fixed once the store exists.</summary>
    public int ShardCount { get; set; } = 4;

    /// <summary>
    /// <c>HOST:PORT</c> other nodes of the cluster reach this one at (its cluster listener binds that port); setting it
    /// makes this server a node of the cluster on its PostgreSQL database. Null: a standalone server.
    /// </summary>
    public string? ClusterAddress { get; set; }

    /// <summary>This node's name in the cluster (default: the host name and the cluster port); stable across restarts.</summary>
    public string? NodeName { get; set; }

    /// <summary>
    /// The cluster's mutual TLS: this node's certificate and key (PEM; it serves the cluster listener and is this node's
    /// client certificate towards the others) and the cluster CA every node's certificate must chain to. All three or none
    /// (then the cluster address must be loopback).
    /// </summary>
    public string? ClusterCertFile { get; set; }

    public string? ClusterKeyFile { get; set; }

    public string? ClusterCaFile { get; set; }

    /// <summary>The audit log: durable and hash-chained by default; retention and export sinks.</summary>
    public Bastion.Security.Audit.AuditOptions Audit { get; } = new();

    /// <summary>Tests: audit records go to this sink instead of the durable log.</summary>
    public Bastion.Security.Audit.IAuditSink? AuditSink { get; set; }

    /// <summary>
    /// Production mode, first start on an empty account: the exact token of the first owner's API key (at least 32
    /// characters; the CLI takes it from <c>BASTION_OWNER_API_KEY</c>). Null: a random key, handed back once in
    /// <see cref="BastionServer.BootstrapOwnerApiKey"/>.
    /// </summary>
    public string? OwnerApiKey { get; set; }

    /// <summary>The e-mail of the account's first owner, created at the first production start.</summary>
    public string OwnerEmail { get; set; } = "owner@localhost";

    /// <summary>Encryption at rest (AES-256-GCM, per-namespace keys). On by default; off only for databases written without it.</summary>
    public bool Encryption { get; set; } = true;

    /// <summary>
    /// The master key's file (created, mode 0600, when missing); default: next to the database,
    /// <c>&lt;database&gt;.master-key</c>. Ignored when <see cref="MasterKeyCommand"/> or the environment variable
    /// <c>BASTION_MASTER_KEY</c> gives the key.
    /// </summary>
    public string? MasterKeyFile { get; set; }

    /// <summary>A command (a KMS hook) that prints the master key in base64; wins over the file and the environment.</summary>
    public string? MasterKeyCommand { get; set; }

    /// <summary>How often the background re-encryption after a key rotation runs (and new key versions are picked up).</summary>
    public TimeSpan ReEncryptionInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time source for the engine; tests may drive it.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;
}
