using Bastion.Tests.Security.Tls;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;
using Temporalio.Api.Cloud.Namespace.V1;
using ListNamespacesRequest = Temporalio.Api.WorkflowService.V1.ListNamespacesRequest;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security.Identity;

/// <summary>
/// What a caller sees of namespaces, with the official clients: Temporal's <c>ListNamespaces</c> lists exactly the
/// namespaces the caller may read (where Temporal OSS refuses a caller without a cluster role), and the Cloud Ops
/// API manages a namespace whatever the namespace's own data-plane authentication.
/// </summary>
[Collection(TlsServerCollection.Name)]
public sealed class NamespaceAccessEndToEndTests(TlsServerFixture fixture)
{
    private Task<TemporalCloudOperationsClient> OwnerOpsAsync() =>
        TemporalCloudOperationsClient.ConnectAsync(new(TlsServerFixture.OwnerKey) { TargetHost = $"127.0.0.1:{fixture.Port}", Tls = fixture.SharedHostTls, Version = "2024-10-01-00" });

    private Task<TemporalClient> KeyClientAsync(string apiKey, string ns) =>
        TemporalClient.ConnectAsync(new($"127.0.0.1:{fixture.Port}") { Namespace = ns, ApiKey = apiKey, Tls = fixture.SharedHostTls });

    private static async Task<string> CreateKeyedNamespaceAsync(TemporalCloudOperationsClient ops, string prefix) =>
        (await ops.CloudService.CreateNamespaceAsync(new CreateNamespaceRequest
        {
            Spec = new NamespaceSpec { Name = prefix + Guid.NewGuid().ToString("N")[..8], RetentionDays = 1, ApiKeyAuth = new ApiKeyAuthSpec { Enabled = true } },
        })).Namespace;

    private static async Task<string> KeyOfAsync(TemporalCloudOperationsClient ops, string serviceAccountId) =>
        (await ops.CloudService.CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Spec = new ApiKeySpec { OwnerId = serviceAccountId, OwnerType = OwnerType.ServiceAccount, ExpiryTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)) },
        })).Token;

    /// <summary>All pages of ListNamespaces at page size 1: the names, and how many pages it took.</summary>
    private static async Task<(List<string> Names, int Pages)> ListAllAsync(TemporalClient client)
    {
        var names = new List<string>();
        var request = new ListNamespacesRequest { PageSize = 1 };
        for (var pages = 1; pages <= 100; pages++)
        {
            var page = await client.WorkflowService.ListNamespacesAsync(request);
            names.AddRange(page.Namespaces.Select(n => n.NamespaceInfo.Name));
            if (page.NextPageToken.IsEmpty)
            {
                return (names, pages);
            }

            request.NextPageToken = page.NextPageToken;
        }

        throw new InvalidOperationException("ListNamespaces did not end within 100 pages.");
    }

    [Fact]
    public async Task NamespaceScopedReader_ListsOnlyItsNamespace_AndDescribesNoOther()
    {
        var ops = await OwnerOpsAsync();
        var mine = await CreateKeyedNamespaceAsync(ops, "mine-");
        var other = await CreateKeyedNamespaceAsync(ops, "other-");
        var reader = await ops.CloudService.CreateServiceAccountAsync(new CreateServiceAccountRequest
        {
            Spec = new ServiceAccountSpec
            {
                Name = "reader",
                NamespaceScopedAccess = new NamespaceScopedAccess { Namespace = mine, Access = new NamespaceAccess { Permission = NamespaceAccess.Types.Permission.Read } },
            },
        });
        var client = await KeyClientAsync(await KeyOfAsync(ops, reader.ServiceAccountId), mine);

        var (names, pages) = await ListAllAsync(client);
        Assert.Equal([mine], names);
        Assert.Equal(1, pages);

        Assert.Equal(mine, (await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = mine })).NamespaceInfo.Name);
        var denied = await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = other }));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, denied.Code);
    }

    [Fact]
    public async Task NamespaceReader_DescribesWorkerDeployments_ButCannotChangeThem()
    {
        var ops = await OwnerOpsAsync();
        var mine = await CreateKeyedNamespaceAsync(ops, "dep-");
        var reader = await ops.CloudService.CreateServiceAccountAsync(new CreateServiceAccountRequest
        {
            Spec = new ServiceAccountSpec
            {
                Name = "deployment-reader",
                NamespaceScopedAccess = new NamespaceScopedAccess { Namespace = mine, Access = new NamespaceAccess { Permission = NamespaceAccess.Types.Permission.Read } },
            },
        });
        var client = await KeyClientAsync(await KeyOfAsync(ops, reader.ServiceAccountId), mine);

        // Reading is allowed (and finds nothing); every write needs namespace write.
        var notFound = await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.DescribeWorkerDeploymentAsync(new() { Namespace = mine, DeploymentName = "orders" }));
        Assert.Equal(RpcException.StatusCode.NotFound, notFound.Code);
        var denied = new List<RpcException>
        {
            await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.SetWorkerDeploymentCurrentVersionAsync(new() { Namespace = mine, DeploymentName = "orders", BuildId = "1.0" })),
            await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.SetWorkerDeploymentRampingVersionAsync(new() { Namespace = mine, DeploymentName = "orders", BuildId = "1.0", Percentage = 5 })),
            await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.DeleteWorkerDeploymentAsync(new() { Namespace = mine, DeploymentName = "orders" })),
            await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.UpdateWorkflowExecutionOptionsAsync(new()
            {
                Namespace = mine, WorkflowExecution = new() { WorkflowId = "any" }, UpdateMask = new() { Paths = { "versioning_override" } },
            })),
        };
        Assert.All(denied, e => Assert.Equal(RpcException.StatusCode.PermissionDenied, e.Code));
    }

    [Fact]
    public async Task AccountReader_ListsItsGrantedNamespaces_OnePerPage()
    {
        var ops = await OwnerOpsAsync();
        var first = await CreateKeyedNamespaceAsync(ops, "g1-");
        var second = await CreateKeyedNamespaceAsync(ops, "g2-");
        await CreateKeyedNamespaceAsync(ops, "g3-");
        var reader = await ops.CloudService.CreateServiceAccountAsync(new CreateServiceAccountRequest
        {
            Spec = new ServiceAccountSpec
            {
                Name = "account-reader",
                Access = new Access
                {
                    AccountAccess = new AccountAccess { Role = AccountAccess.Types.Role.Read },
                    NamespaceAccesses =
                    {
                        [first] = new NamespaceAccess { Permission = NamespaceAccess.Types.Permission.Read },
                        [second] = new NamespaceAccess { Permission = NamespaceAccess.Types.Permission.Write },
                        ["alpha.acme"] = new NamespaceAccess { Permission = NamespaceAccess.Types.Permission.Read }, // mTLS only: a key cannot reach it
                    },
                },
            },
        });
        var client = await KeyClientAsync(await KeyOfAsync(ops, reader.ServiceAccountId), first);

        var (names, pages) = await ListAllAsync(client);
        Assert.Equal(new[] { first, second }.Order(StringComparer.Ordinal), names);
        Assert.Equal(2, pages);
    }

    [Fact]
    public async Task OwnerKey_ReadsAndManagesAnMtlsOnlyNamespace_ThroughCloudOps()
    {
        var name = "mtls-" + Guid.NewGuid().ToString("N")[..8];
        await fixture.CreateNamespaceAsync(name, new Bastion.Engine.Namespaces.NamespaceTlsPolicy { CaBundlePem = TestPki.Pem(fixture.CaA) });
        var full = $"{name}.{TlsServerFixture.Account}";
        var ops = await OwnerOpsAsync();

        var read = (await ops.CloudService.GetNamespaceAsync(new GetNamespaceRequest { Namespace = full })).Namespace;
        Assert.False(read.Spec.ApiKeyAuth.Enabled);
        var spec = read.Spec.Clone();
        spec.RetentionDays = 7;
        await ops.CloudService.UpdateNamespaceAsync(new UpdateNamespaceRequest { Namespace = full, Spec = spec, ResourceVersion = read.ResourceVersion });
        Assert.Equal(7, (await ops.CloudService.GetNamespaceAsync(new GetNamespaceRequest { Namespace = full })).Namespace.Spec.RetentionDays);
        Assert.Contains((await ops.CloudService.GetNamespacesAsync(new GetNamespacesRequest())).Namespaces, n => n.Namespace_ == full);

        var missing = await Assert.ThrowsAsync<RpcException>(() => ops.CloudService.GetNamespaceAsync(new GetNamespaceRequest { Namespace = "nope.acme" }));
        Assert.Equal((RpcException.StatusCode.NotFound, "Namespace nope.acme is not found."), (missing.Code, missing.Message));

        // Calls to the namespace itself still follow its authentication: no API keys there.
        var client = await KeyClientAsync(TlsServerFixture.OwnerKey, full);
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = full }));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, refused.Code);
        Assert.Contains("api_key_auth", refused.Message, StringComparison.Ordinal);
    }
}
