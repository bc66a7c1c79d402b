using System.Globalization;
using Bastion.Engine.History;
using Bastion.Frontend;
using Bastion.Security.Pipeline;
using Microsoft.Extensions.Logging;

namespace Bastion.Server;

/// <summary>
/// Temporal's dynamic config keys that Bastion honours. SDK test launchers pass many keys; the ones that change
/// behaviour users can see are applied, the rest are accepted and logged as unused.
/// </summary>
internal static partial class DynamicConfig
{
    public static void Apply(IDictionary<string, string> values, FrontendOptions frontend, PipelineOptions pipeline, EngineLimits limits, ILogger logger)
    {
        foreach (var (key, raw) in values)
        {
            var value = raw.Trim().Trim('"');
            switch (key)
            {
                case "limit.blobSize.error":
                    frontend.MaxPayloadBytes = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "frontend.namespaceRPS":
                    pipeline.NamespaceRequestsPerSecond = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "limit.numPendingActivities.error":
                    limits.MaxPendingActivities = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "limit.numPendingChildExecutions.error":
                    limits.MaxPendingChildren = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "limit.numPendingSignals.error":
                    limits.MaxPendingSignals = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "limit.numPendingCancelRequests.error":
                    limits.MaxPendingCancelRequests = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "limit.historyCount.error":
                    limits.HistoryCountError = long.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "limit.historyCount.warn":
                    limits.HistoryCountWarn = long.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "limit.historySize.error":
                    limits.HistorySizeError = long.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "limit.historySize.warn":
                    limits.HistorySizeWarn = long.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "system.forceSearchAttributesCacheRefreshOnRead":
                    // Always true here: registrations are visible at once.
                    break;
                default:
                    LogUnused(logger, key);
                    break;
            }
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Dynamic config key {Key} is accepted but not used by Bastion.")]
    private static partial void LogUnused(ILogger logger, string key);
}
