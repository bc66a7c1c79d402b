using Bastion.Server;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Exceptions;

namespace Bastion.Tests.Integration;

/// <summary>Namespaces through Temporal's RPCs, called with the official SDK's raw service client.</summary>
[Collection(ServerCollection.Name)]
public sealed class NamespaceTests(ServerFixture fixture)
{
    private Temporalio.Client.WorkflowService Service => fixture.Client.WorkflowService;

    private static string NewName() => "ns-" + Guid.NewGuid().ToString("N")[..12];

    private Task<RegisterNamespaceResponse> RegisterAsync(string name, TimeSpan? retention = null, Action<RegisterNamespaceRequest>? configure = null)
    {
        var request = new RegisterNamespaceRequest
        {
            Namespace = name,
            Description = "payments team",
            OwnerEmail = "payments@example.com",
            WorkflowExecutionRetentionPeriod = Duration.FromTimeSpan(retention ?? TimeSpan.FromDays(7)),
            Data = { ["team"] = "payments" },
        };
        configure?.Invoke(request);
        return Service.RegisterNamespaceAsync(request);
    }

    [Fact]
    public async Task Register_Describe_List_Update_Deprecate()
    {
        var name = NewName();
        await RegisterAsync(name);
        var described = await Service.DescribeNamespaceAsync(new() { Namespace = name });
        Assert.Equal(name, described.NamespaceInfo.Name);
        Assert.Equal(NamespaceState.Registered, described.NamespaceInfo.State);
        Assert.Equal("payments team", described.NamespaceInfo.Description);
        Assert.Equal("payments", described.NamespaceInfo.Data["team"]);
        Assert.Equal(TimeSpan.FromDays(7), described.Config.WorkflowExecutionRetentionTtl.ToTimeSpan());

        // Workflows run in it, apart from the default namespace.
        var client = await TemporalClient.ConnectAsync(new(fixture.Server.Address) { Namespace = name });
        var handle = await client.StartWorkflowAsync("Anything", [], new("in-" + name, "tq-" + name));
        var missing = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.GetWorkflowHandle(handle.Id).DescribeAsync());
        Assert.Equal(RpcException.StatusCode.NotFound, missing.Code); // not visible from the default namespace

        var listed = await Service.ListNamespacesAsync(new() { PageSize = 1000 });
        Assert.Contains(listed.Namespaces, n => n.NamespaceInfo.Name == name);
        Assert.Contains(listed.Namespaces, n => n.NamespaceInfo.Name == "default");

        var updated = await Service.UpdateNamespaceAsync(new()
        {
            Namespace = name,
            UpdateInfo = new() { Description = "payments and refunds", Data = { ["tier"] = "gold" } },
            Config = new() { WorkflowExecutionRetentionTtl = Duration.FromTimeSpan(TimeSpan.FromDays(30)) },
        });
        Assert.Equal("payments and refunds", updated.NamespaceInfo.Description);
        Assert.Equal("payments", updated.NamespaceInfo.Data["team"]); // data merges
        Assert.Equal("gold", updated.NamespaceInfo.Data["tier"]);
        Assert.Equal(TimeSpan.FromDays(30), updated.Config.WorkflowExecutionRetentionTtl.ToTimeSpan());

        await Service.UpdateNamespaceAsync(new() { Namespace = name, UpdateInfo = new() { State = NamespaceState.Deprecated } });
        Assert.Equal(NamespaceState.Deprecated, (await Service.DescribeNamespaceAsync(new() { Namespace = name })).NamespaceInfo.State);
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.StartWorkflowAsync("Anything", [], new("new-" + name, "tq-" + name)));
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, refused.Code);
        Assert.Contains("deprecated", refused.Message, StringComparison.Ordinal);
        Assert.Equal(NamespaceState.Deprecated, refused.GrpcStatus.Value!.Details.Single().Unpack<NamespaceInvalidStateFailure>().State);

        // Existing workflows go on.
        await handle.SignalAsync("poke", []);
        await handle.TerminateAsync("done");
    }

    [Fact]
    public async Task RegisterTwice_IsAlreadyExists()
    {
        var name = NewName();
        await RegisterAsync(name);
        var error = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(name));
        Assert.Equal(RpcException.StatusCode.AlreadyExists, error.Code);
    }

    public static TheoryData<string, string> BadRegistrations => new()
    {
        { "retention-short", "retention is 1 to 90 days" },
        { "retention-long", "retention is 1 to 90 days" },
        { "bad-name", "invalid" },
        { "global", "Global (replicated) namespaces are not supported" },
        { "archival", "Archival is not supported" },
    };

    [Theory]
    [MemberData(nameof(BadRegistrations))]
    public async Task BadRegistrations_AreInvalidArgument_AndCreateNothing(string kind, string expected)
    {
        var name = kind == "bad-name" ? "Not_A_Name" : NewName();
        var error = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(
            name,
            kind switch { "retention-short" => TimeSpan.FromHours(12), "retention-long" => TimeSpan.FromDays(91), _ => null },
            r =>
            {
                r.IsGlobalNamespace = kind == "global";
                r.HistoryArchivalState = kind == "archival" ? ArchivalState.Enabled : ArchivalState.Unspecified;
            }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, error.Code);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        var listed = await Service.ListNamespacesAsync(new() { PageSize = 1000 });
        Assert.DoesNotContain(listed.Namespaces, n => n.NamespaceInfo.Name == name);
    }

    [Fact]
    public async Task RegisteringInAnotherAccount_IsPermissionDenied()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync(NewName() + ".someone-else"));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, error.Code);
    }

    [Fact]
    public async Task ListNamespaces_PagesThroughEveryNamespaceOnce()
    {
        for (var i = 0; i < 3; i++)
        {
            await RegisterAsync(NewName());
        }

        var names = new List<string>();
        var token = Google.Protobuf.ByteString.Empty;
        do
        {
            var page = await Service.ListNamespacesAsync(new() { PageSize = 2, NextPageToken = token });
            Assert.InRange(page.Namespaces.Count, 0, 2);
            names.AddRange(page.Namespaces.Select(n => n.NamespaceInfo.Name));
            token = page.NextPageToken;
        }
        while (!token.IsEmpty);

        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.True(names.Count >= 4);
    }
}

/// <summary>A registered namespace and its state outlive the server process's restart.</summary>
public sealed class NamespacePersistenceTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-ns-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task RegisteredAndDeprecated_SurviveARestart()
    {
        Directory.CreateDirectory(_directory);
        var options = new ServerOptions { Port = 0, DatabaseFile = Path.Combine(_directory, "b.db"), LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        await using (var server = await BastionServer.StartAsync(options))
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            await client.WorkflowService.RegisterNamespaceAsync(new() { Namespace = "kept", WorkflowExecutionRetentionPeriod = Duration.FromTimeSpan(TimeSpan.FromDays(2)) });
            await client.WorkflowService.UpdateNamespaceAsync(new() { Namespace = "kept", UpdateInfo = new() { State = NamespaceState.Deprecated } });
        }

        await using (var server = await BastionServer.StartAsync(options))
        {
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            var described = await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "kept" });
            Assert.Equal(NamespaceState.Deprecated, described.NamespaceInfo.State);
            Assert.Equal(TimeSpan.FromDays(2), described.Config.WorkflowExecutionRetentionTtl.ToTimeSpan());
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
