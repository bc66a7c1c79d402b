using Bastion.Server;
using Bastion.Tests.Integration;
using Bastion.Tests.Wire;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security;

[Collection(ServerCollection.Name)]
public sealed class PipelineTests(ServerFixture fixture)
{
    private const string DescribeNamespace = "temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace";

    [Fact]
    public async Task NamespaceHeader_ThatDisagreesWithTheRequest_IsPermissionDenied()
    {
        var request = new Temporalio.Api.WorkflowService.V1.DescribeNamespaceRequest { Namespace = "default" };
        var (status, message) = await RawGrpc.CallAsync(fixture.Server.Address, DescribeNamespace, request, new Dictionary<string, string> { ["temporal-namespace"] = "other" });
        Assert.Equal((int)Grpc.Core.StatusCode.PermissionDenied, status);
        Assert.Contains("temporal-namespace", message, StringComparison.Ordinal);

        (status, _) = await RawGrpc.CallAsync(fixture.Server.Address, DescribeNamespace, request, new Dictionary<string, string> { ["temporal-namespace"] = "default" });
        Assert.Equal(0, status);
    }

    [Fact]
    public async Task MethodWithoutHandler_IsUnimplemented_NamingTheMethod()
    {
        var raw = new RawDriver(fixture.Client);
        var error = await Assert.ThrowsAsync<RpcException>(() => raw.Service.ListArchivedWorkflowExecutionsAsync(new() { Namespace = "default" }));
        Assert.Equal(RpcException.StatusCode.Unimplemented, error.Code);
        Assert.Contains("WorkflowService/ListArchivedWorkflowExecutions", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetSystemInfo_AdvertisesTheCapabilitiesTheSdksUse()
    {
        var info = await new RawDriver(fixture.Client).Service.GetSystemInfoAsync(new());
        var c = info.Capabilities;
        Assert.True(c.SdkMetadata && c.SignalAndQueryHeader && c.EncodedFailureAttributes && c.InternalErrorDifferentiation
            && c.ActivityFailureIncludeHeartbeat && c.UpsertMemo);
    }

    [Fact]
    public async Task DescribeNamespace_AndClusterInfo_AnswerTruthfully()
    {
        var raw = new RawDriver(fixture.Client);
        var ns = await raw.Service.DescribeNamespaceAsync(new() { Namespace = "default" });
        Assert.Equal("default", ns.NamespaceInfo.Name);
        Assert.True(Guid.TryParse(ns.NamespaceInfo.Id, out _));
        Assert.Equal(TimeSpan.FromDays(1), ns.Config.WorkflowExecutionRetentionTtl.ToTimeSpan());
        var full = await raw.Service.DescribeNamespaceAsync(new() { Namespace = "default.local" });
        Assert.Equal(ns.NamespaceInfo.Id, full.NamespaceInfo.Id);

        var cluster = await raw.Service.GetClusterInfoAsync(new());
        Assert.Equal(4, cluster.HistoryShardCount);
        Assert.Equal("sqlite", cluster.PersistenceStore);
        Assert.True(Guid.TryParse(cluster.ClusterId, out _));
    }

    [Fact]
    public async Task UnparsableRequestBody_IsInvalidArgument()
    {
        var (status, message) = await RawGrpc.CallAsync(fixture.Server.Address, DescribeNamespace, [0xff, 0xff, 0xff, 0xff, 0xff]);
        Assert.Equal((int)Grpc.Core.StatusCode.InvalidArgument, status);
        Assert.Contains("not a valid DescribeNamespaceRequest", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutDevMode_ACallerWithoutCredentials_IsUnauthenticated()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions { Port = 0, DevMode = false, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        var (status, message) = await RawGrpc.CallAsync(server.Address, DescribeNamespace, new Temporalio.Api.WorkflowService.V1.DescribeNamespaceRequest { Namespace = "default" });
        Assert.Equal((int)Grpc.Core.StatusCode.Unauthenticated, status);
        Assert.Contains("API key", message, StringComparison.Ordinal);
    }
}
