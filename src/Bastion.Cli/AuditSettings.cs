using System.Globalization;
using Bastion.Security.Audit;

namespace Bastion.Cli;

/// <summary>
/// The audit options of <c>server start</c> and <c>server start-dev</c>: <c>--audit-export</c> (comma-separated sinks:
/// <c>stdout</c>, <c>file:PATH</c>, <c>http(s)://URL</c>), <c>--audit-retention-days</c> (default 90) and
/// <c>--audit-log on|off</c> (off keeps no durable log: for measuring its cost only).
/// </summary>
internal static class AuditSettings
{
    public static void Apply(AuditOptions audit, string? exports, string? retentionDays, string? log)
    {
        ArgumentNullException.ThrowIfNull(audit);
        foreach (var sink in (exports ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            audit.Exports.Add(AuditExportSpec.Parse(sink));
        }

        if (retentionDays is not null)
        {
            audit.Retention = int.TryParse(retentionDays, NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days >= 1
                ? TimeSpan.FromDays(days)
                : throw new ArgumentException($"--audit-retention-days {retentionDays}: expected a whole number of days, at least 1.");
        }

        audit.Durable = log switch
        {
            null or "on" => true,
            "off" => false,
            _ => throw new ArgumentException($"--audit-log {log}: expected on or off."),
        };
    }
}
