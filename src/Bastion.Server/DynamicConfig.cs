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
    public static void Apply(IDictionary<string, string> values, FrontendOptions frontend, PipelineOptions pipeline, EngineLimits limits, Engine.Matching.MatchingEngine matching, ILogger logger)
    {
        // Temporal's key → where its value goes. Keys that need no setting here are listed with a no-op.
        var setters = new Dictionary<string, Action<string>>(StringComparer.Ordinal)
        {
            ["limit.blobSize.error"] = v => frontend.MaxPayloadBytes = int.Parse(v, CultureInfo.InvariantCulture),
            ["frontend.namespaceRPS"] = v => pipeline.NamespaceRequestsPerSecond = Positive("frontend.namespaceRPS", v),
            ["frontend.namespaceCount"] = v => pipeline.NamespaceConcurrentLongPolls = Positive("frontend.namespaceCount", v),
            ["frontend.namespaceBurstRatio"] = v => pipeline.BurstRatio = double.Parse(v, CultureInfo.InvariantCulture) is var ratio and >= 1 and <= 1000
                ? ratio
                : throw new ArgumentException($"--dynamic-config-value frontend.namespaceBurstRatio={v}: the ratio is from 1 to 1000."),
            ["limit.numPendingActivities.error"] = v => limits.MaxPendingActivities = int.Parse(v, CultureInfo.InvariantCulture),
            ["limit.numPendingChildExecutions.error"] = v => limits.MaxPendingChildren = int.Parse(v, CultureInfo.InvariantCulture),
            ["limit.numPendingSignals.error"] = v => limits.MaxPendingSignals = int.Parse(v, CultureInfo.InvariantCulture),
            ["limit.numPendingCancelRequests.error"] = v => limits.MaxPendingCancelRequests = int.Parse(v, CultureInfo.InvariantCulture),
            ["history.maxInFlightUpdates"] = v => limits.MaxInFlightUpdates = int.Parse(v, CultureInfo.InvariantCulture),
            ["limit.historyCount.error"] = v => limits.HistoryCountError = long.Parse(v, CultureInfo.InvariantCulture),
            ["limit.historyCount.warn"] = v => limits.HistoryCountWarn = long.Parse(v, CultureInfo.InvariantCulture),
            ["limit.historySize.error"] = v => limits.HistorySizeError = long.Parse(v, CultureInfo.InvariantCulture),
            ["limit.historySize.warn"] = v => limits.HistorySizeWarn = long.Parse(v, CultureInfo.InvariantCulture),
            ["limit.historyCount.suggestContinueAsNew"] = v => limits.HistoryCountSuggestContinueAsNew = long.Parse(v, CultureInfo.InvariantCulture),
            ["limit.historySize.suggestContinueAsNew"] = v => limits.HistorySizeSuggestContinueAsNew = long.Parse(v, CultureInfo.InvariantCulture),
            ["system.enableEagerWorkflowStart"] = v => frontend.EnableEagerWorkflowStart = Flag("system.enableEagerWorkflowStart", v),
            ["system.enableActivityEagerExecution"] = v => limits.EagerActivities = Flag("system.enableActivityEagerExecution", v),
            ["bastion.workflowTaskSyncStart"] = v => limits.WorkflowTaskSyncStart = Flag("bastion.workflowTaskSyncStart", v),
            // One count serves both: Bastion's partitions hold no durable backlog, so a change needs no read-only phase.
            ["matching.numTaskqueueReadPartitions"] = v => matching.Partitions = Partitions("matching.numTaskqueueReadPartitions", v),
            ["matching.numTaskqueueWritePartitions"] = v => matching.Partitions = Partitions("matching.numTaskqueueWritePartitions", v),
            // Task queue priority and fairness, Temporal's keys and defaults: priority on, fairness off, five levels.
            ["matching.useNewMatcher"] = v => matching.UsePriority = Flag("matching.useNewMatcher", v),
            ["matching.enableFairness"] = v => matching.EnableFairness = Flag("matching.enableFairness", v),
            ["matching.priorityLevels"] = v => matching.PriorityLevels = Positive("matching.priorityLevels", v),
            // Poller scaling decisions in poll answers (Temporal's keys and defaults).
            ["matching.pollerScalingMinimumBacklog"] = v => matching.PollerScaling.MinimumBacklogAge = Duration("matching.pollerScalingMinimumBacklog", v),
            ["matching.pollerScalingWaitTime"] = v => matching.PollerScaling.WaitTime = Duration("matching.pollerScalingWaitTime", v),
            ["matching.pollerScalingDecisionsPerSecond"] = v => matching.PollerScaling.DecisionsPerSecond = PositiveNumber("matching.pollerScalingDecisionsPerSecond", v),
            ["matching.pollerScalingTaskAddToDispatchRatio"] = v => matching.PollerScaling.AddToDispatchRatio = PositiveNumber("matching.pollerScalingTaskAddToDispatchRatio", v),
            ["frontend.pollerAutoscalingAutoEnroll"] = v => frontend.PollerAutoscalingAutoEnroll = Flag("frontend.pollerAutoscalingAutoEnroll", v),
            ["system.forceSearchAttributesCacheRefreshOnRead"] = _ => { }, // always true here: registrations are visible at once
            ["system.enableDeploymentVersions"] = v => frontend.EnableDeploymentVersions = Flag("system.enableDeploymentVersions", v),
            ["frontend.workerVersioningDataAPIs"] = v => frontend.WorkerVersioningDataApis = Flag("frontend.workerVersioningDataAPIs", v),
            ["frontend.workerVersioningRuleAPIs"] = v => frontend.WorkerVersioningRuleApis = Flag("frontend.workerVersioningRuleAPIs", v),
            ["frontend.workflowRulesAPIsEnabled"] = v => frontend.WorkflowRulesApis = Flag("frontend.workflowRulesAPIsEnabled", v),
            ["frontend.maxWorkflowRulesPerNamespace"] = v => frontend.MaxWorkflowRulesPerNamespace = Positive("frontend.maxWorkflowRulesPerNamespace", v),
        };
        foreach (var (key, raw) in values)
        {
            if (setters.TryGetValue(key, out var set))
            {
                try
                {
                    set(raw.Trim().Trim('"'));
                }
                catch (Exception e) when (e is FormatException or OverflowException)
                {
                    throw new ArgumentException($"--dynamic-config-value {key}={raw}: the value is not a number in range.", e);
                }
            }
            else
            {
                LogUnused(logger, key);
            }
        }
    }

    /// <summary>A partition count: 1 to 64.</summary>
    private static int Partitions(string key, string value) =>
        int.Parse(value, CultureInfo.InvariantCulture) is var count and >= 1 and <= 64
            ? count
            : throw new ArgumentException($"--dynamic-config-value {key}={value}: a task queue has 1 to 64 partitions.");

    /// <summary>A limit: a whole number of at least 1.</summary>
    private static int Positive(string key, string value) =>
        int.Parse(value, CultureInfo.InvariantCulture) is var number and >= 1
            ? number
            : throw new ArgumentException($"--dynamic-config-value {key}={value}: the value must be at least 1.");

    /// <summary>A duration as Temporal's dynamic config reads one: Go's form (<c>200ms</c>, <c>1m30s</c>), or a number of seconds.</summary>
    private static TimeSpan Duration(string key, string value)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0 && double.IsFinite(seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        var parts = DurationPart().Matches(value);
        if (value.Length == 0 || parts.Sum(p => p.Length) != value.Length)
        {
            throw new ArgumentException($"--dynamic-config-value {key}={value}: not a duration (e.g. 200ms, 1s, 1m30s).");
        }

        return parts.Aggregate(TimeSpan.Zero, (total, part) => total + (double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture) * part.Groups[2].Value switch
        {
            "h" => TimeSpan.FromHours(1),
            "m" => TimeSpan.FromMinutes(1),
            "s" => TimeSpan.FromSeconds(1),
            "ms" => TimeSpan.FromMilliseconds(1),
            "us" or "µs" => TimeSpan.FromMicroseconds(1),
            _ => TimeSpan.FromTicks(1) / 100, // ns
        }));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")]
    private static partial System.Text.RegularExpressions.Regex DurationPart();

    /// <summary>A positive number (a rate, a ratio).</summary>
    private static double PositiveNumber(string key, string value) =>
        double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture) is var number and > 0 && double.IsFinite(number)
            ? number
            : throw new ArgumentException($"--dynamic-config-value {key}={value}: the value must be a number above 0.");

    /// <summary>A boolean key's value: true or false, in any case, as Temporal's YAML reads it.</summary>
    private static bool Flag(string key, string value) => bool.TryParse(value, out var flag)
        ? flag
        : throw new ArgumentException($"--dynamic-config-value {key}={value}: the value is not true or false.");

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Dynamic config key {Key} is accepted but not used by Bastion.")]
    private static partial void LogUnused(ILogger logger, string key);
}
