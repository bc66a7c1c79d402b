namespace Bastion.Security.Audit;

/// <summary>Settings of the audit log: whether it is kept, for how long, and where it is exported.</summary>
public sealed class AuditOptions
{
    /// <summary>
    /// Keep the durable, hash-chained log (the default). Off, records only reach the debug log and no call waits for
    /// them: for measuring the log's cost, never for production.
    /// </summary>
    public bool Durable { get; set; } = true;

    /// <summary>How long records are kept (default 90 days).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How often the retention job runs.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Export sinks, each delivered at least once from its own durable cursor.</summary>
    public IList<AuditExportSpec> Exports { get; } = [];
}
