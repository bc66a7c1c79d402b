using Bastion.Server;
using Bastion.Tests.Integration;
using Google.Protobuf;
using Temporalio.Api.Nexus.V1;
using Temporalio.Api.OperatorService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Cloud = Temporalio.Api.Cloud.CloudService.V1;
using CloudNexus = Temporalio.Api.Cloud.Nexus.V1;

namespace Bastion.Tests.Nexus;

/// <summary>
/// Nexus endpoints (issue 19) through OperatorService and the Cloud Ops API, with the official SDK's clients: one
/// registry, versioned writes, Temporal's validation, and the allowed-caller-namespaces policy.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class NexusEndpointTests(ServerFixture fixture)
{
    private Temporalio.Client.OperatorService Operator => fixture.Client.Connection.OperatorService;

    private Temporalio.Client.CloudService CloudOps => fixture.Client.Connection.CloudService;

    [Fact]
    public async Task OperatorService_CreateGetListUpdateDelete_AtTheEndpointsVersion()
    {
        var name = NewName();
        var created = (await Operator.CreateNexusEndpointAsync(new() { Spec = WorkerSpec(name, "default", "tq-a") })).Endpoint;
        Assert.Equal(1, created.Version);
        Assert.Equal($"/nexus/endpoints/{created.Id}/services", created.UrlPrefix);
        Assert.Equal(("default", "tq-a"), (created.Spec.Target.Worker.Namespace, created.Spec.Target.Worker.TaskQueue));

        Assert.Equal(created, (await Operator.GetNexusEndpointAsync(new() { Id = created.Id })).Endpoint);
        Assert.Equal(created.Id, Assert.Single((await Operator.ListNexusEndpointsAsync(new() { Name = name })).Endpoints).Id);

        var stale = await Assert.ThrowsAsync<RpcException>(() => Operator.UpdateNexusEndpointAsync(new() { Id = created.Id, Version = 7, Spec = WorkerSpec(name, "default", "tq-b") }));
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, stale.Code);
        Assert.Equal("nexus endpoint version mismatch. received: 7 expected 1", stale.Message);

        var updated = (await Operator.UpdateNexusEndpointAsync(new() { Id = created.Id, Version = 1, Spec = WorkerSpec(name, "other", "tq-b") })).Endpoint;
        Assert.Equal(2, updated.Version);
        Assert.Equal(("other", "tq-b"), (updated.Spec.Target.Worker.Namespace, updated.Spec.Target.Worker.TaskQueue));

        var staleDelete = await Assert.ThrowsAsync<RpcException>(() => Operator.DeleteNexusEndpointAsync(new() { Id = created.Id, Version = 1 }));
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, staleDelete.Code);
        await Operator.DeleteNexusEndpointAsync(new() { Id = created.Id, Version = 2 });

        var gone = await Assert.ThrowsAsync<RpcException>(() => Operator.GetNexusEndpointAsync(new() { Id = created.Id }));
        Assert.Equal(RpcException.StatusCode.NotFound, gone.Code);
        Assert.Empty((await Operator.ListNexusEndpointsAsync(new() { Name = name })).Endpoints);
    }

    [Fact]
    public async Task OperatorService_ListsEndpointsInPagesByName()
    {
        var prefix = NewName();
        foreach (var suffix in new[] { "c", "a", "b" })
        {
            await Operator.CreateNexusEndpointAsync(new() { Spec = WorkerSpec($"{prefix}-{suffix}", "default", "tq") });
        }

        var names = new List<string>();
        var token = ByteString.Empty;
        do
        {
            var page = await Operator.ListNexusEndpointsAsync(new() { PageSize = 2, NextPageToken = token });
            Assert.InRange(page.Endpoints.Count, 0, 2);
            names.AddRange(page.Endpoints.Select(e => e.Spec.Name));
            token = page.NextPageToken;
        }
        while (!token.IsEmpty);

        Assert.Equal([$"{prefix}-a", $"{prefix}-b", $"{prefix}-c"], names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)));
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
    }

    [Fact]
    public async Task OperatorService_BadSpecs_AreRefusedNamingTheProblem()
    {
        await AssertRefusedAsync(RpcException.StatusCode.InvalidArgument, "endpoint name must match the regex", WorkerSpec("1-starts-with-a-digit", "default", "tq"));
        await AssertRefusedAsync(RpcException.StatusCode.InvalidArgument, "endpoint name not set", WorkerSpec(string.Empty, "default", "tq"));
        await AssertRefusedAsync(RpcException.StatusCode.InvalidArgument, "empty target variant", new EndpointSpec { Name = NewName() });
        await AssertRefusedAsync(RpcException.StatusCode.InvalidArgument, "invalid target task queue", WorkerSpec(NewName(), "default", string.Empty));
        await AssertRefusedAsync(RpcException.StatusCode.InvalidArgument, "invalid target URL scheme: \"ftp\"", new EndpointSpec
        {
            Name = NewName(),
            Target = new EndpointTarget { External = new EndpointTarget.Types.External { Url = "ftp://example.com/nexus" } },
        });
        await AssertRefusedAsync(RpcException.StatusCode.FailedPrecondition, "could not verify namespace referenced by target exists", WorkerSpec(NewName(), "no-such-namespace", "tq"));

        var name = NewName();
        await Operator.CreateNexusEndpointAsync(new() { Spec = WorkerSpec(name, "default", "tq") });
        await AssertRefusedAsync(RpcException.StatusCode.AlreadyExists, $"Endpoint with name {name} already registered", WorkerSpec(name, "other", "tq"));

        var malformed = await Assert.ThrowsAsync<RpcException>(() => Operator.GetNexusEndpointAsync(new() { Id = "not-a-uuid" }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, malformed.Code);
        var nonPositive = await Assert.ThrowsAsync<RpcException>(() => Operator.DeleteNexusEndpointAsync(new() { Id = Guid.NewGuid().ToString(), Version = 0 }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, nonPositive.Code);
    }

    [Fact]
    public async Task CloudOps_SetsTheAllowedCallers_OfTheEndpointOperatorServiceSees_AndAnOperatorUpdateKeepsThem()
    {
        var name = NewName();
        var spec = new CloudNexus.EndpointSpec
        {
            Name = name,
            TargetSpec = new CloudNexus.EndpointTargetSpec { WorkerTargetSpec = new CloudNexus.WorkerTargetSpec { NamespaceId = "default.local", TaskQueue = "tq-cloud" } },
            PolicySpecs = { Allowed("other.local"), Allowed("default.local") },
        };
        var id = (await CloudOps.CreateNexusEndpointAsync(new Cloud.CreateNexusEndpointRequest { Spec = spec })).EndpointId;

        var viaOperator = (await Operator.GetNexusEndpointAsync(new() { Id = id })).Endpoint;
        Assert.Equal(("default", "tq-cloud"), (viaOperator.Spec.Target.Worker.Namespace, viaOperator.Spec.Target.Worker.TaskQueue));
        await Operator.UpdateNexusEndpointAsync(new() { Id = id, Version = viaOperator.Version, Spec = WorkerSpec(name, "default", "tq-moved") });

        var viaCloud = (await CloudOps.GetNexusEndpointAsync(new Cloud.GetNexusEndpointRequest { EndpointId = id })).Endpoint;
        Assert.Equal("2", viaCloud.ResourceVersion);
        Assert.Equal("tq-moved", viaCloud.Spec.TargetSpec.WorkerTargetSpec.TaskQueue);
        Assert.Equal(["other.local", "default.local"], viaCloud.Spec.PolicySpecs.Select(p => p.AllowedCloudNamespacePolicySpec.NamespaceId));
        Assert.Equal(id, Assert.Single((await CloudOps.GetNexusEndpointsAsync(new Cloud.GetNexusEndpointsRequest { Name = name })).Endpoints).Id);

        var stale = await Assert.ThrowsAsync<RpcException>(() => CloudOps.UpdateNexusEndpointAsync(new Cloud.UpdateNexusEndpointRequest { EndpointId = id, ResourceVersion = "1", Spec = spec }));
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, stale.Code);
        var unknownCaller = await Assert.ThrowsAsync<RpcException>(() => CloudOps.UpdateNexusEndpointAsync(new Cloud.UpdateNexusEndpointRequest
        {
            EndpointId = id,
            ResourceVersion = "2",
            Spec = new CloudNexus.EndpointSpec(spec) { PolicySpecs = { Allowed("missing.local") } },
        }));
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, unknownCaller.Code);

        await CloudOps.DeleteNexusEndpointAsync(new Cloud.DeleteNexusEndpointRequest { EndpointId = id, ResourceVersion = "2" });
        Assert.Empty((await CloudOps.GetNexusEndpointsAsync(new Cloud.GetNexusEndpointsRequest { Name = name })).Endpoints);
    }

    /// <summary>Endpoints are durable: a server started again on the same database serves them at their version.</summary>
    [Fact]
    public async Task Endpoints_SurviveARestart()
    {
        var directory = Path.Combine(Path.GetTempPath(), "bastion-nexus-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var options = new ServerOptions { Port = 0, DatabaseFile = Path.Combine(directory, "b.db"), LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        try
        {
            Endpoint created;
            await using (var first = await BastionServer.StartAsync(options))
            {
                var client = await TemporalClient.ConnectAsync(new(first.Address) { Namespace = "default" });
                created = (await client.Connection.OperatorService.CreateNexusEndpointAsync(new() { Spec = WorkerSpec("durable", "default", "tq") })).Endpoint;
                created = (await client.Connection.OperatorService.UpdateNexusEndpointAsync(new() { Id = created.Id, Version = 1, Spec = WorkerSpec("durable", "default", "tq-2") })).Endpoint;
            }

            await using var second = await BastionServer.StartAsync(options);
            var again = await TemporalClient.ConnectAsync(new(second.Address) { Namespace = "default" });
            Assert.Equal(created, (await again.Connection.OperatorService.GetNexusEndpointAsync(new() { Id = created.Id })).Endpoint);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private async Task AssertRefusedAsync(RpcException.StatusCode code, string message, EndpointSpec spec)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Operator.CreateNexusEndpointAsync(new CreateNexusEndpointRequest { Spec = spec }));
        Assert.Equal(code, e.Code);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    private static CloudNexus.EndpointPolicySpec Allowed(string ns) =>
        new() { AllowedCloudNamespacePolicySpec = new CloudNexus.AllowedCloudNamespacePolicySpec { NamespaceId = ns } };

    internal static EndpointSpec WorkerSpec(string name, string ns, string taskQueue) => new()
    {
        Name = name,
        Target = new EndpointTarget { Worker = new EndpointTarget.Types.Worker { Namespace = ns, TaskQueue = taskQueue } },
    };

    internal static string NewName() => "ep-" + Guid.NewGuid().ToString("N")[..12];
}
