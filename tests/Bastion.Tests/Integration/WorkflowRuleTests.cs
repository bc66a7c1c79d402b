using Bastion.Server;
using Temporalio.Api.Rules.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Bastion.Tests.Integration;

/// <summary>
/// Workflow rules as Temporal's server answers them: UNIMPLEMENTED unless <c>frontend.workflowRulesAPIsEnabled</c>;
/// then created, described, listed and deleted with Temporal's texts and limit, kept in the namespace's record across
/// a restart. Rules applied: WorkflowRuleApplicationTests.
/// </summary>
public sealed class WorkflowRuleTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-rules-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ByDefault_TheRuleApisAreUnimplemented_AsInTemporal()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var error = await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.ListWorkflowRulesAsync(new() { Namespace = "default" }));
        Assert.Equal(RpcException.StatusCode.Unimplemented, error.Code);
        Assert.Equal("method ListWorkflowRules not supported", error.Message);
    }

    [Fact]
    public async Task Enabled_RulesAreStoredDurably_WithTemporalsTextsAndLimit()
    {
        var options = Options();
        options.DynamicConfig["frontend.maxWorkflowRulesPerNamespace"] = "2";
        await using (var server = await BastionServer.StartAsync(options))
        {
            var service = (await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" })).WorkflowService;
            var created = await service.CreateWorkflowRuleAsync(new() { Namespace = "default", Spec = PauseRule("r1"), Identity = "ops", Description = "stop the flaky one" });
            Assert.Equal("ops", created.Rule.CreatedByIdentity);
            Assert.NotNull(created.Rule.CreateTime);

            var duplicate = await Assert.ThrowsAsync<RpcException>(() => service.CreateWorkflowRuleAsync(new() { Namespace = "default", Spec = PauseRule("r1") }));
            Assert.Equal(RpcException.StatusCode.InvalidArgument, duplicate.Code);
            Assert.Equal("Workflow Rule with this ID already exists.", duplicate.Message);

            await service.CreateWorkflowRuleAsync(new() { Namespace = "default", Spec = PauseRule("r2") });
            var full = await Assert.ThrowsAsync<RpcException>(() => service.CreateWorkflowRuleAsync(new() { Namespace = "default", Spec = PauseRule("r3") }));
            Assert.Equal("Workflow Rule limit exceeded. Max: 2", full.Message);

            var noSpec = await Assert.ThrowsAsync<RpcException>(() => service.CreateWorkflowRuleAsync(new() { Namespace = "default" }));
            Assert.Equal("Rule Specification is not set.", noSpec.Message);

            await service.DeleteWorkflowRuleAsync(new() { Namespace = "default", RuleId = "r2" });
            var missing = await Assert.ThrowsAsync<RpcException>(() => service.DescribeWorkflowRuleAsync(new() { Namespace = "default", RuleId = "r2" }));
            Assert.Equal(RpcException.StatusCode.InvalidArgument, missing.Code);
            Assert.Equal("Workflow Rule with this ID not Found.", missing.Message);

            // Implemented by Bastion (Temporal's server leaves it UNIMPLEMENTED): it needs the workflow to apply the rule to.
            var trigger = await Assert.ThrowsAsync<RpcException>(() => service.TriggerWorkflowRuleAsync(new() { Namespace = "default", Id = "r1" }));
            Assert.Equal(RpcException.StatusCode.InvalidArgument, trigger.Code);
        }

        await using (var restarted = await BastionServer.StartAsync(Options()))
        {
            var service = (await TemporalClient.ConnectAsync(new(restarted.Address) { Namespace = "default" })).WorkflowService;
            var listed = await service.ListWorkflowRulesAsync(new() { Namespace = "default" });
            var rule = Assert.Single(listed.Rules);
            Assert.Equal("r1", rule.Spec.Id);
            Assert.Equal("stop the flaky one", rule.Description);
            Assert.Equal("ActivityType = \"Flaky\"", rule.Spec.ActivityStart.Predicate);
            Assert.Equal(rule, (await service.DescribeWorkflowRuleAsync(new() { Namespace = "default", RuleId = "r1" })).Rule);
        }
    }

    private ServerOptions Options()
    {
        var options = new ServerOptions { Port = 0, DatabaseFile = Path.Combine(_directory, "bastion.db"), LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.DynamicConfig["frontend.workflowRulesAPIsEnabled"] = "true";
        return options;
    }

    private static WorkflowRuleSpec PauseRule(string id) => new()
    {
        Id = id,
        ActivityStart = new() { Predicate = "ActivityType = \"Flaky\"" },
        Actions = { new WorkflowRuleAction { ActivityPause = new() } },
    };
}
