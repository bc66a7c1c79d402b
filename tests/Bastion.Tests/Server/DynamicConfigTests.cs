using Bastion.Engine.History;
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
            NullLogger.Instance);
        Assert.Equal(1024, frontend.MaxPayloadBytes);
        Assert.Equal(50, pipeline.NamespaceRequestsPerSecond);
        Assert.Equal(99, limits.HistoryCountError);
    }

    [Fact]
    public void ANonNumericValue_IsRefused_NamingTheKey()
    {
        var error = Assert.Throws<ArgumentException>(() => DynamicConfig.Apply(
            new Dictionary<string, string> { ["limit.historyCount.error"] = "lots" },
            new FrontendOptions(),
            new PipelineOptions(),
            new EngineLimits(),
            NullLogger.Instance));
        Assert.Contains("limit.historyCount.error", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EagerWorkflowStart_IsOnByDefault_AndSwitchedByItsKey()
    {
        var frontend = new FrontendOptions();
        Assert.True(frontend.EnableEagerWorkflowStart);
        DynamicConfig.Apply(new Dictionary<string, string> { ["system.enableEagerWorkflowStart"] = "False" }, frontend, new PipelineOptions(), new EngineLimits(), NullLogger.Instance);
        Assert.False(frontend.EnableEagerWorkflowStart);

        var error = Assert.Throws<ArgumentException>(() => DynamicConfig.Apply(
            new Dictionary<string, string> { ["system.enableEagerWorkflowStart"] = "maybe" }, frontend, new PipelineOptions(), new EngineLimits(), NullLogger.Instance));
        Assert.Contains("system.enableEagerWorkflowStart", error.Message, StringComparison.Ordinal);
    }
}
