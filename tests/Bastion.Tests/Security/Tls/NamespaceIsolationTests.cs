using Bastion.Security.Authorization;
using Bastion.Tests.Wire;
using Bastion.Wire;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Security.Tls;

/// <summary>
/// The isolation matrix: a caller holding namespace alpha's certificate, on alpha's host, is denied every
/// namespace-scoped RPC of every bound service (taken from the descriptors, so a new RPC cannot escape) when it
/// names another namespace, in the request, in the header, or both; and equal workflow ids in two namespaces
/// are two different workflows.
/// </summary>
[Collection(TlsServerCollection.Name)]
public sealed class NamespaceIsolationTests(TlsServerFixture fixture)
{
    public static TheoryData<string> NamespaceScopedMethods()
    {
        var data = new TheoryData<string>();
        foreach (var method in GrpcServiceDescriptors.All.SelectMany(s => s.Methods)
            .Where(m => MethodClassification.For(m.Service.Name, m.Name)?.IsNamespaceScoped() == true))
        {
            data.Add($"{method.Service.Name}/{method.Name}");
        }

        return data;
    }

    public static TheoryData<string> AccountMethods()
    {
        var data = new TheoryData<string>();
        foreach (var method in GrpcServiceDescriptors.All.SelectMany(s => s.Methods)
            .Where(m => MethodClassification.For(m.Service.Name, m.Name) is Permission.AccountRead or Permission.AccountAdmin))
        {
            data.Add($"{method.Service.Name}/{method.Name}");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(NamespaceScopedMethods))]
    public async Task AlphaCertificate_NamingAnotherNamespace_IsPermissionDenied(string method)
    {
        var descriptor = Find(method);
        using var http = fixture.RawClient(fixture.ClientA);
        var alphaHost = fixture.BaseUri(TlsServerFixture.Host("alpha"));
        var cases = new (string Field, string? Header)[]
        {
            ("beta.acme", null),
            ("beta.acme", "beta.acme"),
            ("alpha.acme", "beta.acme"),
            ("beta.acme", "alpha.acme"),
            ("no-such-namespace.acme", null), // denied, not NOT_FOUND: a bound caller learns nothing of other names
            (string.Empty, null),
        };
        foreach (var (field, header) in cases)
        {
            var headers = header is null ? null : new Dictionary<string, string> { ["temporal-namespace"] = header };
            var (status, message) = await RawGrpc.CallAsync(http, alphaHost, Path(descriptor), Request(descriptor, field), headers);
            Assert.True(status == (int)StatusCode.PermissionDenied, $"{method} with namespace {field} and header {header}: {(StatusCode)status} {message}");
        }
    }

    [Theory]
    [MemberData(nameof(NamespaceScopedMethods))]
    public async Task AlphaCertificate_OnBetasHost_IsUnauthenticated(string method)
    {
        var descriptor = Find(method);
        using var http = fixture.RawClient(fixture.ClientA);
        var (status, message) = await RawGrpc.CallAsync(http, fixture.BaseUri(TlsServerFixture.Host("beta")), Path(descriptor), Request(descriptor, "beta.acme"));
        Assert.True(status == (int)StatusCode.Unauthenticated, $"{method}: {(StatusCode)status} {message}");
    }

    [Theory]
    [MemberData(nameof(AccountMethods))]
    public async Task NamespaceCertificate_HasNoAccountLevelAccess(string method)
    {
        var descriptor = Find(method);
        using var http = fixture.RawClient(fixture.ClientA);
        var (status, message) = await RawGrpc.CallAsync(http, fixture.BaseUri(TlsServerFixture.Host("alpha")), Path(descriptor), Request(descriptor, "alpha.acme"));
        Assert.True(status == (int)StatusCode.PermissionDenied, $"{method}: {(StatusCode)status} {message}");
    }

    [Fact]
    public async Task TheMatrix_IsNotVacuous_TheOwnNamespacePassesThePipeline()
    {
        using var http = fixture.RawClient(fixture.ClientA);
        var alphaHost = fixture.BaseUri(TlsServerFixture.Host("alpha"));
        var (status, message) = await RawGrpc.CallAsync(http, alphaHost, "temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace",
            new DescribeNamespaceRequest { Namespace = "alpha.acme" }, new Dictionary<string, string> { ["temporal-namespace"] = "alpha.acme" });
        Assert.True(status == 0, message);
        Assert.True(NamespaceScopedMethods().Count > 100);
    }

    [Fact]
    public async Task EqualWorkflowIds_InTwoNamespaces_AreTwoWorkflows()
    {
        var alpha = await fixture.ConnectAsync("alpha", fixture.ClientA);
        var beta = await fixture.ConnectAsync("beta", fixture.ClientB);
        var id = "same-id-" + Guid.NewGuid().ToString("N");
        var inAlpha = await alpha.StartWorkflowAsync("Anything", ["from alpha"], new(id, "tq-isolation"));
        var inBeta = await beta.StartWorkflowAsync("Anything", ["from beta"], new(id, "tq-isolation"));
        Assert.NotEqual(inAlpha.ResultRunId, inBeta.ResultRunId);

        var alphaHistory = await alpha.GetWorkflowHandle(id).FetchHistoryAsync();
        var betaHistory = await beta.GetWorkflowHandle(id).FetchHistoryAsync();
        Assert.Equal("\"from alpha\"", alphaHistory.Events.First().WorkflowExecutionStartedEventAttributes.Input.Payloads_[0].Data.ToStringUtf8());
        Assert.Equal("\"from beta\"", betaHistory.Events.First().WorkflowExecutionStartedEventAttributes.Input.Payloads_[0].Data.ToStringUtf8());

        await alpha.GetWorkflowHandle(id).TerminateAsync("done");
        Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Running, (await beta.GetWorkflowHandle(id).DescribeAsync()).Status);
        await beta.GetWorkflowHandle(id).TerminateAsync("done");
    }

    private static MethodDescriptor Find(string method) =>
        GrpcServiceDescriptors.All.SelectMany(s => s.Methods).Single(m => $"{m.Service.Name}/{m.Name}" == method);

    private static string Path(MethodDescriptor method) => $"{method.Service.FullName}/{method.Name}";

    private static IMessage Request(MethodDescriptor method, string @namespace)
    {
        var request = method.InputType.Parser.ParseFrom(ByteString.Empty);
        if (method.InputType.FindFieldByName("namespace") is { FieldType: FieldType.String } field)
        {
            field.Accessor.SetValue(request, @namespace);
        }

        return request;
    }
}
