using Bastion.Engine.History;
using Bastion.Engine.Matching;
using Bastion.Frontend;
using Bastion.Security.Pipeline;
using Bastion.Server;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bastion.Tests.Server;

public sealed class DynamicConfigTests
{
    [Fact]
    public void KnownKeys_AreApplied_UnknownKeysAccepted()
    {
        var frontend = new FrontendOptions();
        var pipeline = new PipelineOptions();
        var limits = new EngineLimits();
        DynamicConfig.Apply(
            new Dictionary<string, string>
            {
                ["limit.blobSize.error"] = "1024",
                ["frontend.namespaceRPS"] = "\"50\"",
                ["limit.historyCount.error"] = "99",
                ["frontend.enableUpdateWorkflowExecution"] = "true",
            },
            frontend,
            pipeline,
            limits,
            new MatchingEngine(TimeProvider.System),
            NullLogger.Instance);
        Assert.Equal(1024, frontend.MaxPayloadBytes);
        Assert.Equal(50, pipeline.NamespaceRequestsPerSecond);
        Assert.Equal(99, limits.HistoryCountError);
    }

    [Fact]
    public void NamespaceLimitKeys_AreApplied_AndOutOfRangeValuesRefused()
    {
        var pipeline = new PipelineOptions();
        DynamicConfig.Apply(
            new Dictionary<string, string> { ["frontend.namespaceCount"] = "7", ["frontend.namespaceBurstRatio"] = "1.5" },
            new FrontendOptions(), pipeline, new EngineLimits(), new MatchingEngine(TimeProvider.System), NullLogger.Instance);
        Assert.Equal(7, pipeline.NamespaceConcurrentLongPolls);
        Assert.Equal(1.5, pipeline.BurstRatio);

        foreach (var (key, value) in new[] { ("frontend.namespaceRPS", "0"), ("frontend.namespaceCount", "-1"), ("frontend.namespaceBurstRatio", "0.5") })
        {
            var error = Assert.Throws<ArgumentException>(() => DynamicConfig.Apply(
                new Dictionary<string, string> { [key] = value }, new FrontendOptions(), new PipelineOptions(), new EngineLimits(), new MatchingEngine(TimeProvider.System), NullLogger.Instance));
            Assert.Contains($"{key}={value}", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void PriorityAndFairnessKeys_AreApplied_WithTemporalsDefaults_AndBadValuesRefused()
    {
        var defaults = new MatchingEngine(TimeProvider.System);
        Assert.Equal((true, 5, false), (defaults.UsePriority, defaults.PriorityLevels, defaults.EnableFairness));

        var matching = new MatchingEngine(TimeProvider.System);
        DynamicConfig.Apply(
            new Dictionary<string, string> { ["matching.useNewMatcher"] = "false", ["matching.enableFairness"] = "true", ["matching.priorityLevels"] = "10" },
            new FrontendOptions(), new PipelineOptions(), new EngineLimits(), matching, NullLogger.Instance);
        Assert.Equal((false, 10, true), (matching.UsePriority, matching.PriorityLevels, matching.EnableFairness));

        foreach (var (key, value) in new[] { ("matching.enableFairness", "yes"), ("matching.priorityLevels", "0") })
        {
            var error = Assert.Throws<ArgumentException>(() => DynamicConfig.Apply(
                new Dictionary<string, string> { [key] = value }, new FrontendOptions(), new PipelineOptions(), new EngineLimits(), new MatchingEngine(TimeProvider.System), NullLogger.Instance));
            Assert.Contains($"{key}={value}", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ANonNumericValue_IsRefused_NamingTheKey()
    {
        var error = Assert.Throws<ArgumentException>(() => DynamicConfig.Apply(
            new Dictionary<string, string> { ["limit.historyCount.error"] = "lots" },
            new FrontendOptions(),
            new PipelineOptions(),
            new EngineLimits(),
            new MatchingEngine(TimeProvider.System),
            NullLogger.Instance));
        Assert.Contains("limit.historyCount.error", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EagerWorkflowStart_IsOnByDefault_AndSwitchedByItsKey()
    {
        var frontend = new FrontendOptions();
        Assert.True(frontend.EnableEagerWorkflowStart);
        DynamicConfig.Apply(new Dictionary<string, string> { ["system.enableEagerWorkflowStart"] = "False" }, frontend, new PipelineOptions(), new EngineLimits(), new MatchingEngine(TimeProvider.System), NullLogger.Instance);
        Assert.False(frontend.EnableEagerWorkflowStart);

        var error = Assert.Throws<ArgumentException>(() => DynamicConfig.Apply(
            new Dictionary<string, string> { ["system.enableEagerWorkflowStart"] = "maybe" }, frontend, new PipelineOptions(), new EngineLimits(), new MatchingEngine(TimeProvider.System), NullLogger.Instance));
        Assert.Contains("system.enableEagerWorkflowStart", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TaskQueuePartitions_AreSetByEitherKey_WithinOneTo64()
    {
        var matching = new MatchingEngine(TimeProvider.System);
        Assert.Equal(1, matching.Partitions);
        DynamicConfig.Apply(new Dictionary<string, string> { ["matching.numTaskqueueReadPartitions"] = "2" }, new FrontendOptions(), new PipelineOptions(), new EngineLimits(), matching, NullLogger.Instance);
        Assert.Equal(2, matching.Partitions);
        DynamicConfig.Apply(new Dictionary<string, string> { ["matching.numTaskqueueWritePartitions"] = "4" }, new FrontendOptions(), new PipelineOptions(), new EngineLimits(), matching, NullLogger.Instance);
        Assert.Equal(4, matching.Partitions);

        foreach (var bad in new[] { "0", "65", "-1" })
        {
            var error = Assert.Throws<ArgumentException>(() => DynamicConfig.Apply(
                new Dictionary<string, string> { ["matching.numTaskqueueReadPartitions"] = bad }, new FrontendOptions(), new PipelineOptions(), new EngineLimits(), matching, NullLogger.Instance));
            Assert.Contains("1 to 64 partitions", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void PollerScalingKeys_AreApplied_WithTemporalsDefaults_AndBadValuesRefused()
    {
        var matching = new MatchingEngine(TimeProvider.System);
        var frontend = new FrontendOptions();
        var defaults = matching.PollerScaling;
        Assert.Equal((TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), 10.0, 1.2), (defaults.MinimumBacklogAge, defaults.WaitTime, defaults.DecisionsPerSecond, defaults.AddToDispatchRatio));
        Assert.False(frontend.PollerAutoscalingAutoEnroll);

        DynamicConfig.Apply(
            new Dictionary<string, string>
            {
                ["matching.pollerScalingMinimumBacklog"] = "1m30s",
                ["matching.pollerScalingWaitTime"] = "2.5",
                ["matching.pollerScalingDecisionsPerSecond"] = "4",
                ["matching.pollerScalingTaskAddToDispatchRatio"] = "1.5",
                ["frontend.pollerAutoscalingAutoEnroll"] = "true",
            },
            frontend, new PipelineOptions(), new EngineLimits(), matching, NullLogger.Instance);
        Assert.Equal(TimeSpan.FromSeconds(90), matching.PollerScaling.MinimumBacklogAge);
        Assert.Equal(TimeSpan.FromSeconds(2.5), matching.PollerScaling.WaitTime);
        Assert.Equal(4.0, matching.PollerScaling.DecisionsPerSecond);
        Assert.Equal(1.5, matching.PollerScaling.AddToDispatchRatio);
        Assert.True(frontend.PollerAutoscalingAutoEnroll);

        foreach (var (key, value) in new[]
        {
            ("matching.pollerScalingMinimumBacklog", "soon"),
            ("matching.pollerScalingWaitTime", "-1s"),
            ("matching.pollerScalingDecisionsPerSecond", "0"),
            ("matching.pollerScalingTaskAddToDispatchRatio", "-2"),
            ("frontend.pollerAutoscalingAutoEnroll", "yes"),
        })
        {
            var error = Assert.Throws<ArgumentException>(() => DynamicConfig.Apply(
                new Dictionary<string, string> { [key] = value }, new FrontendOptions(), new PipelineOptions(), new EngineLimits(), matching, NullLogger.Instance));
            Assert.Contains($"{key}={value}", error.Message, StringComparison.Ordinal);
        }
    }
}
