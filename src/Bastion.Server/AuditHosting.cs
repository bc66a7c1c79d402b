using Bastion.Security.Audit;
using Bastion.Storage;
using Microsoft.Extensions.Logging;

namespace Bastion.Server;

/// <summary>
/// The audit log's moving parts for one server: the durable sink (the pipeline's audit stage writes there), one
/// exporter per configured sink, and the retention job. Started with the server, stopped after its listeners.
/// </summary>
internal sealed class AuditHosting : IAsyncDisposable
{
    private static readonly TimeSpan s_exportPoll = TimeSpan.FromSeconds(1);

    private readonly DurableAuditSink? _durable;
    private readonly List<AuditExporter> _exporters = [];
    private readonly AuditRetention? _retention;
    private readonly HttpClient? _http; // shared by the HTTP sinks
    private int _disposed;

    /// <summary>The audit log as readers see it (records decoded).</summary>
    public IAuditStore Store { get; }

    /// <param name="active">Whether this process runs the audit log's duties (export, retention) now: in a cluster, the holder of shard 0.</param>
    public AuditHosting(ServerOptions options, IAuditStore store, GroupCommitter committer, ILoggerFactory loggers, Func<bool> active)
    {
        ArgumentNullException.ThrowIfNull(options);
        var logger = loggers.CreateLogger("Bastion.Audit");
        Store = store;
        Log = new AuditLog(store);
        if (options.AuditSink is { } hook)
        {
            Sink = hook; // tests: records go to the hook instead of the durable log
            return;
        }

        if (!options.Audit.Durable)
        {
            Sink = new LogAuditSink(loggers);
            return;
        }

        var account = options.DevMode ? Engine.Namespaces.NamespaceRegistry.DevAccount : options.Account;
        _durable = new DurableAuditSink(committer, account);
        Sink = _durable;
        _retention = new AuditRetention(store, options.Audit.Retention, options.Audit.RetentionInterval, options.Time, logger) { Active = active };
        if (options.Audit.Exports.Any(e => e.Kind == AuditExportKind.Http))
        {
            _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        }

        foreach (var spec in options.Audit.Exports)
        {
            IAuditExportTarget target = spec.Kind switch
            {
                AuditExportKind.File => new JsonLinesFileTarget(spec.Target, spec.MaxFileBytes, spec.MaxFiles),
                AuditExportKind.Http => new HttpAuditTarget(new Uri(spec.Target), _http!),
                _ => new StdoutAuditTarget(Console.Out),
            };
            var exporter = new AuditExporter(store, target, spec.BatchSize, options.Time, s_exportPoll, logger) { Active = active };
            _durable.Committed += (_, _) => exporter.Notify();
            _exporters.Add(exporter);
        }
    }

    /// <summary>The export sinks' exporters (their lag is a metric).</summary>
    public IReadOnlyList<AuditExporter> Exporters => _exporters;

    /// <summary>Where the pipeline writes records.</summary>
    public IAuditSink Sink { get; }

    /// <summary>The reader (GetAuditLogs, the CLI).</summary>
    public AuditLog Log { get; }

    public void Start()
    {
        foreach (var exporter in _exporters)
        {
            exporter.Start();
        }
    }

    /// <summary>The server stops it after its listeners; the container disposes it again at the end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _retention?.Dispose();
        if (_durable != null)
        {
            await _durable.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var exporter in _exporters)
        {
            await exporter.DisposeAsync().ConfigureAwait(false);
        }

        _http?.Dispose();
    }
}
