using System.Net;
using Bastion.Engine.Cluster;
using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Bastion.Engine.Namespaces;
using Bastion.Frontend;
using Bastion.Frontend.CloudService;
using Bastion.Frontend.OperatorService;
using Bastion.Frontend.WorkflowService;
using Bastion.Security.Audit;
using Bastion.Security.Identity;
using Bastion.Security.Pipeline;
using Bastion.Security.Sessions;
using Bastion.Security.Sso;
using Bastion.Security.Tls;
using Bastion.Server.Cluster;
using Bastion.Server.Metrics;
using Bastion.Server.Tls;
using Bastion.Server.Ui;
using Bastion.Server.Ui.Sso;
using Bastion.Storage;
using Bastion.Visibility;
using Bastion.Wire;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bastion.Server;

/// <summary>
/// The composition root: store, engine, security pipeline, handlers and Kestrel, wired once. Program.cs and
/// the tests both start Bastion through here.
/// </summary>
public sealed partial class BastionServer : IAsyncDisposable
{
    private const int MaxMessageBytes = 8 * 1024 * 1024;

    private readonly WebApplication _app;
    private readonly IStorageProvider _store;
    private readonly GroupCommitter _committer;
    private readonly HistoryEngine _engine;

    private readonly NamespaceRefresher _refresher;
    private readonly AuditHosting _audit;
    private readonly EncryptionAtRest _encryption;
    private readonly ClusterMembership _membership;
    private ServerGauges? _gauges;

    private BastionServer(WebApplication app, IStorageProvider store, GroupCommitter committer, HistoryEngine engine, NamespaceRefresher refresher, AuditHosting audit, EncryptionAtRest encryption, ClusterMembership membership)
    {
        _membership = membership;
        _audit = audit;
        _encryption = encryption;
        _app = app;
        _store = store;
        _committer = committer;
        _engine = engine;
        _refresher = refresher;
    }

    internal NamespaceRegistry Namespaces => _app.Services.GetRequiredService<NamespaceRegistry>();

    internal IdentityRegistry Identities => _app.Services.GetRequiredService<IdentityRegistry>();

    internal UiSessionOptions UiSessionOptions => _app.Services.GetRequiredService<UiSessionOptions>();

    /// <summary>The web UI's sessions (tests).</summary>
    internal UiSessions UiSessions => _app.Services.GetRequiredService<UiSessions>();

    /// <summary>The OpenID Connect client secret's reader (tests).</summary>
    internal OidcClientSecret OidcClientSecret => _app.Services.GetRequiredService<OidcClientSecret>();

    /// <summary>Picks up namespace changes made in the store by another process now, not at the next interval.</summary>
    internal Task RefreshNamespacesAsync() => _refresher.RefreshAsync();

    /// <summary>The audit log's reader (what <c>GetAuditLogs</c> serves).</summary>
    public AuditLog AuditLog => _audit.Log;

    internal IAuditStore AuditStore => _audit.Store;

    /// <summary>The history engine (tests).</summary>
    internal HistoryEngine Engine => _engine;

    /// <summary>The cluster listener's address (null for a standalone server).</summary>
    internal string? ClusterAddress => _app.Services.GetService<ClusterSettings>()?.Address;

    /// <summary>What this node served for other nodes of its cluster (zero for a standalone server).</summary>
    internal (long Forwards, long HandOffs, long Starts, long Operations, long NexusDispatches) ClusterServed => _app.Services.GetService<ClusterService>()?.Served ?? default;

    internal Engine.Schedules.ScheduleEngine Schedules => _app.Services.GetRequiredService<Engine.Schedules.ScheduleEngine>();

    /// <summary>This process as other servers on the database see it (the owner of its shard leases): host, process id and a random tag.</summary>
    public static string NodeName { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>The storage provider (tests).</summary>
    internal IStorageProvider Storage => _store;

    /// <summary>Transactions committed so far and the transitions in them (tests).</summary>
    internal (long Batches, long Writes) CommitCounters => _committer.Counters;

    /// <summary>Encryption at rest: the codec, the key ring (null when off) and the re-encryption.</summary>
    internal EncryptionAtRest Encryption => _encryption;

    /// <summary>The gRPC endpoint, e.g. <c>127.0.0.1:7233</c>.</summary>
    public string Address { get; private set; } = string.Empty;

    public int Port { get; private set; }

    /// <summary>
    /// The first owner's API key, generated at the first production start on an empty store; null otherwise. Show it
    /// once to the person starting the server; it is stored nowhere (only its hash) and must never be logged.
    /// </summary>
    public string? BootstrapOwnerApiKey { get; private init; }

    /// <summary>The HTTP API endpoint, e.g. <c>127.0.0.1:7243</c>; null when the server has no HTTP API listener.</summary>
    public string? HttpAddress { get; private set; }

    /// <summary>The web UI's endpoint, e.g. <c>127.0.0.1:8233</c>; null when the server serves no UI.</summary>
    public string? UiAddress { get; private set; }

    /// <summary>The metrics listener's endpoint (<c>/metrics</c>, <c>/healthz</c>, <c>/readyz</c>); null without <c>--metrics-port</c>.</summary>
    public string? MetricsAddress { get; private set; }


    public static async Task<BastionServer> StartAsync(ServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!IPAddress.TryParse(options.Ip, out var ip))
        {
            throw new ArgumentException($"--ip {options.Ip} is not an IP address.");
        }

        var useTls = options.TlsCertFile != null || options.TlsKeyFile != null;
        if (useTls && (options.TlsCertFile == null || options.TlsKeyFile == null))
        {
            throw new ArgumentException("--tls-cert-file and --tls-key-file go together: give both.");
        }

        if (useTls && string.IsNullOrWhiteSpace(options.BaseDomain))
        {
            throw new ArgumentException("--base-domain is required with TLS: namespace hosts are <namespace>.<account>.<base-domain>.");
        }

        foreach (var (name, port) in new[] { ("--port", (int?)options.Port), ("--http-port", options.HttpPort), ("--ui-port", options.UiPort), ("--metrics-port", options.MetricsPort) })
        {
            if (port is < 0 or > IPEndPoint.MaxPort)
            {
                throw new ArgumentException($"{name} {port}: expected a port number from 0 to {IPEndPoint.MaxPort}.");
            }
        }

        options.UiSessions.Validate();
        if (!useTls && !IPAddress.IsLoopback(ip))
        {
            throw new ArgumentException(
                $"Refusing to serve plaintext on {options.Ip}: without TLS (--tls-cert-file, --tls-key-file) Bastion binds loopback only (127.0.0.1 or ::1).");
        }

        var cluster = ClusterSettings.Of(options);
        var builder = ServerHost.CreateBuilder();
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        builder.Logging.ClearProviders();
        if (options.LogFormat == "json")
        {
            // One JSON object per line: Timestamp (UTC, ISO 8601), EventId, LogLevel, Category, Message, State and the
            // scopes — a call's Operation and AuditLogId (the log_id of its audit record), the request's TraceId/SpanId.
            builder.Logging.AddJsonConsole(json =>
            {
                json.IncludeScopes = true;
                json.UseUtcTimestamp = true;
                json.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        }

        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", options.LogLevel < LogLevel.Warning ? LogLevel.Warning : options.LogLevel);
        builder.Logging.AddFilter("Grpc", options.LogLevel < LogLevel.Warning ? LogLevel.Warning : options.LogLevel);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning); // the CLI prints its own banner
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.Critical); // start failures are reported by the caller

        ListenOptions? grpcListener = null;
        ListenOptions? httpListener = null;
        ListenOptions? uiListener = null;
        ListenOptions? metricsListener = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var tls = kestrel.ApplicationServices.GetService<ListenerTls>();
            kestrel.Listen(ip, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                tls?.Apply(listen);
                grpcListener = listen;
            });
            if (options.HttpPort is { } httpPort)
            {
                httpListener = HttpApiHosting.Listen(kestrel, ip, httpPort, tls);
            }

            if (options.UiPort is { } uiPort)
            {
                uiListener = UiHosting.Listen(kestrel, ip, uiPort, tls);
            }

            if (options.MetricsPort is { } metricsPort)
            {
                metricsListener = MetricsHosting.Listen(kestrel, ip, metricsPort, tls);
            }

            if (cluster is not null)
            {
                kestrel.Listen(cluster.Bind, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    if (cluster.Tls is { } clusterTls)
                    {
                        listen.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
                        {
                            ServerCertificate = clusterTls.Certificate,
                            SslProtocols = System.Security.Authentication.SslProtocols.Tls13,
                            ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate,
                            CheckCertificateRevocation = false,
                            ClientCertificateValidation = (certificate, _, _) => clusterTls.Trusts(certificate),
                        });
                    }
                });
            }

            // The SDK multiplexes every call of a client and its workers, long polls included, on one connection.
            kestrel.Limits.Http2.MaxStreamsPerConnection = 10_000;
            kestrel.Limits.MaxRequestBodySize = MaxMessageBytes;
        });

        var store = await StorageProviders.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        EncryptionAtRest encryption;
        try
        {
            encryption = await EncryptionAtRest.CreateAsync(options, store, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var auditCodec = new AuditRecordCodec(encryption.Codec);
        var committer = new GroupCommitter(store, auditCodec);
        var auditStore = new DecodedAuditStore(store.Audit, auditCodec);
        var frontendOptions = new FrontendOptions();
        var pipelineOptions = new PipelineOptions { DevMode = options.DevMode, BaseDomain = useTls ? options.BaseDomain : null };
        pipelineOptions.NamespaceRequestsPerSecond = options.NamespaceRequestsPerSecond ?? pipelineOptions.NamespaceRequestsPerSecond;
        pipelineOptions.NamespaceActionsPerSecond = options.NamespaceActionsPerSecond ?? pipelineOptions.NamespaceActionsPerSecond;
        var engineLimits = new EngineLimits();

        var services = builder.Services;
        services.AddSingleton(options.Time);
        services.AddSingleton<IStorageProvider>(store);
        services.AddSingleton(store.Visibility);
        services.AddSingleton(committer);
        services.AddSingleton(encryption.Codec);
        services.AddSingleton<MatchingEngine>();
        services.AddSingleton(engineLimits);
        services.AddSingleton<HistoryEngine>();
        services.AddSingleton(store.Schedules);
        services.AddSingleton<Engine.Schedules.ScheduleEngine>();
        services.AddSingleton<Engine.Visibility.VisibilityReader>();
        services.AddSingleton(store.Batches);
        services.AddSingleton<Engine.Batch.BatchOperations>();
        // The last look of a purge waits out two namespace refreshes: every node has dropped the namespace's runs by then.
        services.AddSingleton(new Engine.Namespaces.NamespacePurgeOptions(options.NamespacePurgePageSize, options.NamespacePurgePace, options.NamespaceRefreshInterval * 2));
        services.AddSingleton<Engine.Namespaces.NamespacePurger>();
        services.AddSingleton<NamespaceRegistry>();
        services.AddSingleton<Engine.Nexus.NexusEndpointRegistry>();
        services.AddSingleton<Engine.Deployments.WorkerDeploymentRegistry>();
        services.AddSingleton<Engine.Matching.TaskQueueConfigRegistry>();
        services.AddSingleton<Engine.Matching.NexusTaskDispatcher>();
        services.AddSingleton<Engine.Nexus.NexusCaller>();
        services.AddSingleton(frontendOptions);
        services.AddSingleton<Draining>();
        services.AddSingleton(pipelineOptions);
        // The audit log's and re-encryption's background duties run on one node of a cluster: the holder of shard 0.
        services.AddSingleton(sp => new AuditHosting(options, auditStore, committer, sp.GetRequiredService<ILoggerFactory>(), () => sp.GetRequiredService<HistoryEngine>().OwnsShard(0)));
        services.AddSingleton(sp => sp.GetRequiredService<AuditHosting>().Sink);
        services.AddSingleton(sp => sp.GetRequiredService<AuditHosting>().Log);
        services.AddSingleton<IdentityRegistry>();
        services.AddSingleton(sp => new ApiKeyAuthenticator(sp.GetRequiredService<IdentityRegistry>(), options.Time, pipelineOptions));
        services.AddSingleton<ClientCertificateAuthenticator>();
        services.AddSingleton(options.UiSessions);
        services.AddSingleton(new UiSessions(options.UiSessions, options.Time, store.Sessions));
        services.AddSingleton<SsoPolicy>();
        services.AddSingleton(new OidcClientSecret(store.SignIn, encryption.Codec));
        services.AddSingleton<UiSessionAuthenticator>();
        if (options.UiPort != null && !options.DevMode)
        {
            services.AddSingleton(sp => ActivatorUtilities.CreateInstance<UiSignIn>(sp, new UiSessionCookies(secure: useTls), options.Account));
            services.AddSingleton<OidcSignIn>();
            services.AddSingleton<SamlSignIn>();
        }

        // The pipeline asks the authenticators in this order; the first that finds its credential decides.
        services.AddSingleton<IAuthenticator>(sp => sp.GetRequiredService<UiSessionAuthenticator>());
        services.AddSingleton<IAuthenticator>(sp => sp.GetRequiredService<ApiKeyAuthenticator>());
        services.AddSingleton<IAuthenticator>(sp => sp.GetRequiredService<ClientCertificateAuthenticator>());
        services.AddSingleton<IAuthenticator, DevLoopbackAuthenticator>();
        if (useTls)
        {
            services.AddSingleton(sp => new ListenerTls(
                new ServerCertificate(options.TlsCertFile!, options.TlsKeyFile!, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Bastion.Tls")),
                options.BaseDomain!));
        }

        if (cluster is null)
        {
            services.AddSingleton<ICallRouter, LocalCallRouter>();
        }
        else
        {
            services.AddSingleton(new ClusterListener { Port = cluster.Bind.Port });
            services.AddSingleton(cluster);
            services.AddSingleton<ClusterClient>();
            services.AddSingleton<ICallRouter, ClusterRouter>();
            services.AddSingleton<ClusterService>();
            services.AddSingleton<IServiceMethodProvider<ClusterService>, ClusterService.MethodProvider>();
        }

        services.AddSingleton<Security.RateLimits.NamespaceRateLimiter>();
        services.AddSingleton<SecurityPipeline>();
        services.AddSingleton<WorkflowServiceHandler>();
        services.AddSingleton<NamespaceDeletion>();
        services.AddSingleton<OperatorServiceHandler>();
        services.AddSingleton<CloudServiceHandler>();
        services.AddSingleton<SsoServiceHandler>();
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<SecurityPipeline>();
            grpc.MaxReceiveMessageSize = MaxMessageBytes;
            grpc.MaxSendMessageSize = null;
            grpc.EnableDetailedErrors = false;
        });
        GrpcHealth.AddTo(services);
        if (options.MetricsPort != null)
        {
            MetricsHosting.AddTo(services);
        }
        services.AddSingleton<IServiceMethodProvider<WorkflowServiceHandler>>(
            new DescriptorServiceMethodProvider<WorkflowServiceHandler>(GrpcServiceDescriptors.WorkflowService));
        services.AddSingleton<IServiceMethodProvider<OperatorServiceHandler>>(
            new DescriptorServiceMethodProvider<OperatorServiceHandler>(GrpcServiceDescriptors.OperatorService));
        services.AddSingleton<IServiceMethodProvider<CloudServiceHandler>>(
            new DescriptorServiceMethodProvider<CloudServiceHandler>(GrpcServiceDescriptors.CloudService));
        services.AddSingleton<IServiceMethodProvider<SsoServiceHandler>>(
            new DescriptorServiceMethodProvider<SsoServiceHandler>(GrpcServiceDescriptors.SsoService));

        var app = builder.Build();
        if (options.MetricsPort != null)
        {
            MetricsHosting.Map(app, new Readiness(store, app.Services.GetRequiredService<HistoryEngine>(), app.Lifetime, clustered: cluster is not null));
        }

        if (options.HttpPort != null)
        {
            app.MapHttpApi();
        }

        if (options.UiPort != null)
        {
            // Start-dev: no sign-in (loopback, as Temporal's dev server). Server start: every UI call needs a session.
            var signIn = options.DevMode ? null : app.Services.GetRequiredService<UiSignIn>();
            signIn?.Oidc = app.Services.GetRequiredService<OidcSignIn>();
            signIn?.Saml = app.Services.GetRequiredService<SamlSignIn>();
            app.MapUi(
                options.DevMode ? UiSettings.DevMode("default") : UiSettings.SignIn(options.Namespaces.FirstOrDefault() is { } first ? $"{first}.{options.Account}" : string.Empty),
                signIn);
        }

        app.MapGrpcService<WorkflowServiceHandler>();
        app.MapGrpcService<OperatorServiceHandler>();
        app.MapGrpcService<CloudServiceHandler>();
        app.MapGrpcService<SsoServiceHandler>();
        if (cluster is not null)
        {
            app.MapGrpcService<ClusterService>();
        }
        GrpcHealth.Map(app);

        app.Lifetime.ApplicationStopping.Register(app.Services.GetRequiredService<Draining>().Begin); // before the listeners close
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Bastion.Server");
        DynamicConfig.Apply(options.DynamicConfig, frontendOptions, pipelineOptions, engineLimits, app.Services.GetRequiredService<MatchingEngine>(), logger);
        if (app.Services.GetService<ListenerTls>() is { } listenerTls)
        {
            WarnIfCertificateMisses(listenerTls, options, logger); // also loads the certificate now: a bad one fails the start
        }

        var engine = app.Services.GetRequiredService<HistoryEngine>();
        var clusterLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Bastion.Cluster");
        var membership = cluster is null
            ? ClusterMembership.Standalone(NodeName, options.Time, clusterLogger)
            : await ClusterMembership.JoinAsync(store.Membership, ClusterProtocol.Announce(cluster.NodeName, cluster.Address, options.Time.GetUtcNow().UtcDateTime), options.Time, clusterLogger, cancellationToken).ConfigureAwait(false);
        pipelineOptions.Nodes = () => membership.Live.Count; // each node enforces its share of a namespace's limits
        var nexusCalls = app.Services.GetRequiredService<Engine.Nexus.NexusCaller>();
        var auditSink = app.Services.GetRequiredService<IAuditSink>();
        nexusCalls.Refused = refusal => auditSink.WriteAsync(NexusRefusalAudit.RecordOf(refusal, options.Time.GetUtcNow().UtcDateTime)).AsTask();
        engine.NexusCalls = nexusCalls;

        // Before the engine dispatches its tasks: which version's workers each goes to depends on the deployments.
        await app.Services.GetRequiredService<Engine.Deployments.WorkerDeploymentRegistry>().LoadAsync(cancellationToken).ConfigureAwait(false);

        // Before the engine dispatches its tasks: matching enforces the queue rate limits and fairness settings set by UpdateTaskQueueConfig.
        var queueConfigs = app.Services.GetRequiredService<Engine.Matching.TaskQueueConfigRegistry>();
        await queueConfigs.LoadAsync(cancellationToken).ConfigureAwait(false);
        engine.Matching.ConfiguredRate = queueConfigs.QueueRateLimit;
        engine.Matching.ConfiguredFairness = queueConfigs.Fairness;
        queueConfigs.Changed += engine.Matching.ConfiguredRateChanged;
        await engine.StartAsync(options.ShardCount, membership, cluster is null ? null : app.Services.GetRequiredService<ClusterClient>(), cancellationToken).ConfigureAwait(false);
        var namespaces = app.Services.GetRequiredService<NamespaceRegistry>();
        await namespaces.LoadAsync(cancellationToken).ConfigureAwait(false);
        var identities = app.Services.GetRequiredService<IdentityRegistry>();
        await identities.LoadAsync(cancellationToken).ConfigureAwait(false);
        await app.Services.GetRequiredService<Engine.Nexus.NexusEndpointRegistry>().LoadAsync(cancellationToken).ConfigureAwait(false);
        await app.Services.GetRequiredService<Engine.Schedules.ScheduleEngine>().StartAsync(cancellationToken).ConfigureAwait(false);
        var bootstrapToken = options.DevMode
            ? null
            : await OwnerBootstrap.RunAsync(identities, options.Account, options.OwnerEmail, options.OwnerApiKey, options.Time).ConfigureAwait(false);
        var account = options.DevMode ? NamespaceRegistry.DevAccount : options.Account;
        foreach (var name in (options.DevMode ? ["default"] : Array.Empty<string>()).Concat(options.Namespaces))
        {
            var entry = await namespaces.EnsureAsync(name, account, TimeSpan.FromDays(1)).ConfigureAwait(false);
            if (options.SearchAttributes.Count > 0)
            {
                await RegisterSearchAttributesAsync(namespaces, entry, options.SearchAttributes).ConfigureAwait(false);
            }
        }

        // Needs the namespaces' retention, so after they are loaded; in the background, it may have much to do.
        _ = engine.ScheduleMissingRetentionTimersAsync();
        await app.Services.GetRequiredService<Engine.Batch.BatchOperations>().ResumeAllAsync(cancellationToken).ConfigureAwait(false);
        app.Services.GetRequiredService<Engine.Namespaces.NamespacePurger>().Start();
        if (cluster is not null)
        {
            // From now on membership changes move shards (and queues: every owned shard's due tasks are handed off again).
            var clusterClient = app.Services.GetRequiredService<ClusterClient>();
            membership.Refreshed = (live, changed) =>
            {
                clusterClient.Forget(live);
                return engine.FollowMembershipAsync(live, changed);
            };
            membership.SelfLeaseEnded = engine.DropAllShards;
        }

        var audit = app.Services.GetRequiredService<AuditHosting>();
        audit.Start();
        var refresher = new NamespaceRefresher(namespaces, identities, options.Time, options.NamespaceRefreshInterval, logger, app.Services.GetRequiredService<Engine.Nexus.NexusEndpointRegistry>(),
            app.Services.GetRequiredService<Engine.Deployments.WorkerDeploymentRegistry>(), queueConfigs);
        if (!options.DevMode && options.UiPort != null)
        {
            var sessions = app.Services.GetRequiredService<UiSessions>();
            var sso = app.Services.GetRequiredService<SsoPolicy>();
            refresher.AfterRefresh = () => sessions.Sweep(sso.RevokedReason);
        }

        if (cluster is not null)
        {
            // A change of settings is read by every node before the call that made it answers (cluster protocol 8).
            app.Services.GetRequiredService<ClusterService>().RefreshSettings = refresher.RefreshAsync;
            committer.SettingsCommitted = app.Services.GetRequiredService<ClusterClient>().RefreshOthersAsync;
        }

        encryption.StartBackground(options.Time, options.ReEncryptionInterval, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Bastion.Encryption"), () => engine.OwnsShard(0));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            refresher.Dispose();
            encryption.Dispose();
            await audit.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        if (cluster is not null)
        {
            // Settings changed on another node between this node's first read and its listener answering were announced
            // to it in vain (it is live from its join on): read them once more now that announcements reach it.
            await refresher.RefreshAsync().ConfigureAwait(false);
        }

        var server = new BastionServer(app, store, committer, engine, refresher, audit, encryption, membership) { BootstrapOwnerApiKey = bootstrapToken };
        if (options.MetricsPort != null)
        {
            server._gauges = new ServerGauges(engine, namespaces, app.Services.GetRequiredService<UiSessions>(), audit, options.Time);
        }

        server.MetricsAddress = metricsListener is { IPEndPoint: { } metrics } ? $"{options.Ip}:{metrics.Port}" : null;
        server.Port = grpcListener!.IPEndPoint!.Port; // the bound port, also when 0 asked for a free one
        server.Address = $"{options.Ip}:{server.Port}";
        server.HttpAddress = httpListener is { IPEndPoint: { } http } ? $"{options.Ip}:{http.Port}" : null;
        server.UiAddress = uiListener is { IPEndPoint: { } ui } ? $"{options.Ip}:{ui.Port}" : null;
        return server;
    }

    /// <summary>The start's <c>--search-attribute</c>s, by the same rules as OperatorService.AddSearchAttributes.</summary>
    private static async Task RegisterSearchAttributesAsync(NamespaceRegistry namespaces, NamespaceEntry entry, IDictionary<string, SearchAttributeType> added)
    {
        try
        {
            var attributes = CustomSearchAttributes.Add(entry.SearchAttributes, added);
            if (attributes.Count != entry.SearchAttributes.Count)
            {
                await namespaces.UpdateAsync(entry with { SearchAttributes = attributes }).ConfigureAwait(false);
            }
        }
        catch (ServiceException e)
        {
            throw new ArgumentException($"--search-attribute, namespace {entry.Name}: {e.Message}", e);
        }
    }

    private static void WarnIfCertificateMisses(ListenerTls tls, ServerOptions options, ILogger logger)
    {
        var certificate = tls.Certificate;
        var account = options.DevMode ? NamespaceRegistry.DevAccount : options.Account;
        foreach (var host in new[] { tls.BaseDomain, $"any.{account}.{tls.BaseDomain}" })
        {
            if (!certificate.MatchesHostname(host))
            {
                LogCertificateMisses(logger, host);
            }
        }
    }

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "The server certificate does not cover {Host}: clients that verify the server name will refuse it.")]
    private static partial void LogCertificateMisses(ILogger logger, string host);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Group commit: {Writes} transitions committed in {Batches} transactions.")]
    private static partial void LogGroupCommit(ILogger logger, long writes, long batches);

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _gauges?.Dispose();
        _refresher.Dispose();
        _encryption.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.Services.GetRequiredService<Engine.Schedules.ScheduleEngine>().DisposeAsync().ConfigureAwait(false);
        await _app.Services.GetRequiredService<Engine.Namespaces.NamespacePurger>().DisposeAsync().ConfigureAwait(false);
        await _engine.DisposeAsync().ConfigureAwait(false);
        await _membership.DisposeAsync().ConfigureAwait(false); // after the shards are released: the others take them at once
        await _audit.DisposeAsync().ConfigureAwait(false);
        await _committer.DisposeAsync().ConfigureAwait(false);
        var (batches, writes) = _committer.Counters;
        var logger = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Bastion.Server");
        LogGroupCommit(logger, writes, batches);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
    }
}
