using Bastion.Server;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Namespace.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security.RateLimits;

/// <summary>
/// A namespace's capacity through the official Cloud Ops client on a real server: provisioned units set with
/// UpdateNamespace become the namespace's limits at once (shown in GetNamespace and GetNamespaceCapacityInfo), the
/// namespace over them is refused with APS_LIMIT while its neighbour is not, and on-demand restores the defaults.
/// </summary>
public sealed class NamespaceCapacityTests
{
    [Fact]
    public async Task ProvisionedUnits_LimitTheNamespace_NotItsNeighbour_AndOnDemandRestoresTheDefaults()
    {
        var options = new ServerOptions { Port = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning, NamespaceActionsPerSecond = 5000 };
        options.Namespaces.Add("noisy");
        await using var server = await BastionServer.StartAsync(options);
        var connection = await TemporalConnection.ConnectAsync(new(server.Address) { RpcRetry = new() { MaxRetries = 0 } });
        var ops = connection.CloudService;

        var before = (await ops.GetNamespaceAsync(new GetNamespaceRequest { Namespace = "noisy.local" })).Namespace;
        Assert.NotNull(before.Spec.CapacitySpec.OnDemand);
        Assert.NotNull(before.Capacity.OnDemand);
        Assert.Equal(5000, before.Limits.ActionsPerSecondLimit);

        var bad = Writable(before);
        bad.CapacitySpec = new CapacitySpec { Provisioned = new CapacitySpec.Types.Provisioned { Value = -1 } };
        var invalid = await Assert.ThrowsAsync<RpcException>(() => ops.UpdateNamespaceAsync(new UpdateNamespaceRequest { Namespace = "noisy.local", Spec = bad, ResourceVersion = before.ResourceVersion }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, invalid.Code);
        Assert.Contains("spec.capacity_spec.provisioned.value", invalid.Message, StringComparison.Ordinal);

        var spec = Writable(before);
        spec.CapacitySpec = new CapacitySpec { Provisioned = new CapacitySpec.Types.Provisioned { Value = 0.1 } }; // 10 actions per second
        await ops.UpdateNamespaceAsync(new UpdateNamespaceRequest { Namespace = "noisy.local", Spec = spec, ResourceVersion = before.ResourceVersion });
        var after = (await ops.GetNamespaceAsync(new GetNamespaceRequest { Namespace = "noisy.local" })).Namespace;
        Assert.Equal(0.1, after.Spec.CapacitySpec.Provisioned.Value);
        Assert.Equal(0.1, after.Capacity.Provisioned.CurrentValue);
        Assert.Equal(10, after.Limits.ActionsPerSecondLimit);

        // An update that leaves capacity_spec out keeps the capacity.
        var retention = Writable(after);
        retention.CapacitySpec = null;
        retention.RetentionDays = 3;
        await ops.UpdateNamespaceAsync(new UpdateNamespaceRequest { Namespace = "noisy.local", Spec = retention, ResourceVersion = after.ResourceVersion });
        after = (await ops.GetNamespaceAsync(new GetNamespaceRequest { Namespace = "noisy.local" })).Namespace;
        Assert.Equal(0.1, after.Capacity.Provisioned.CurrentValue);

        var noisy = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "noisy", RpcRetry = new() { MaxRetries = 0 } });
        var neighbour = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default", RpcRetry = new() { MaxRetries = 0 } });
        RpcException? refused = null;
        var started = 0;
        for (var i = 0; i < 100 && refused is null; i++)
        {
            try
            {
                await noisy.WorkflowService.StartWorkflowExecutionAsync(Start("noisy", $"noisy-{i}")); // raw: the SDK's client would retry
                started++;
            }
            catch (RpcException e)
            {
                refused = e;
            }
        }

        Assert.True(refused is not null, $"started {started}");
        Assert.InRange(started, 20, 40); // a burst of 2 s at 10 per second, and what refilled meanwhile
        Assert.Equal(RpcException.StatusCode.ResourceExhausted, refused.Code);
        Assert.Contains("namespace actions per second limit exceeded: namespace noisy.local", refused.Message, StringComparison.Ordinal);
        var failure = Assert.Single(refused.GrpcStatus.Value!.Details).Unpack<ResourceExhaustedFailure>();
        Assert.Equal(ResourceExhaustedCause.ApsLimit, failure.Cause);
        await neighbour.StartWorkflowAsync("Idle", [], new("neighbour", "q")); // the other namespace is not held back

        // The SDK's own client backs off on the refusal and retries: its starts all land, at the namespace's pace.
        var patient = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "noisy" });
        for (var i = 0; i < 15; i++)
        {
            await patient.StartWorkflowAsync("Idle", [], new($"patient-{i}", "q"));
        }

        var info = (await ops.GetNamespaceCapacityInfoAsync(new GetNamespaceCapacityInfoRequest { Namespace = "noisy.local" })).CapacityInfo;
        Assert.Equal("noisy.local", info.Namespace);
        Assert.Equal(0.1, info.CurrentCapacity.Provisioned.CurrentValue);
        Assert.Equal(5000, info.ModeOptions.OnDemand.ApsLimit);
        Assert.Contains(1.0, info.ModeOptions.Provisioned.ValidTruValues);

        var onDemand = Writable(after);
        onDemand.CapacitySpec = new CapacitySpec { OnDemand = new CapacitySpec.Types.OnDemand() };
        await ops.UpdateNamespaceAsync(new UpdateNamespaceRequest { Namespace = "noisy.local", Spec = onDemand, ResourceVersion = after.ResourceVersion });

        // The bucket keeps its balance across the change (as Temporal's limiter does): what the patient starts left owing
        // (up to one burst of the old rate) is repaid within milliseconds at the new rate; the SDK's client waits that out.
        await patient.StartWorkflowAsync("Idle", [], new("after-on-demand", "q"));
        for (var i = 0; i < 50; i++)
        {
            await noisy.WorkflowService.StartWorkflowExecutionAsync(Start("noisy", $"again-{i}")); // 5000 per second again
        }
    }

    private static Temporalio.Api.WorkflowService.V1.StartWorkflowExecutionRequest Start(string ns, string id) => new()
    {
        Namespace = ns,
        WorkflowId = id,
        WorkflowType = new() { Name = "Idle" },
        TaskQueue = new() { Name = "q" },
        RequestId = Guid.NewGuid().ToString(),
    };

    /// <summary>The namespace's spec to write back (a dev namespace has neither mTLS nor API keys on, which a write must name).</summary>
    private static NamespaceSpec Writable(Namespace ns)
    {
        var spec = ns.Spec.Clone();
        spec.ApiKeyAuth = new ApiKeyAuthSpec { Enabled = true };
        return spec;
    }
}
