using Bastion.Tests.Security.Tls;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;
using Temporalio.Api.Cloud.Namespace.V1;
using Temporalio.Api.Cloud.Operation.V1;

namespace Bastion.Tests.Security.Identity;

/// <summary>
/// The official Cloud Ops client, pointed at Bastion with the owner's API key, sets up a namespace, a user, a
/// namespace-scoped service account and its API key; the official client with that key runs a workflow there,
/// and is refused in another namespace and once the key is disabled.
/// </summary>
[Collection(TlsServerCollection.Name)]
public sealed class CloudOpsEndToEndTests(TlsServerFixture fixture)
{
    internal Task<TemporalCloudOperationsClient> OpsAsync(string apiKey) =>
        TemporalCloudOperationsClient.ConnectAsync(new(apiKey) { TargetHost = $"127.0.0.1:{fixture.Port}", Tls = fixture.SharedHostTls, Version = "2024-10-01-00" });

    [Fact]
    public async Task OwnerKey_SetsUpANamespaceAndAServiceAccountKey_ThatRunsAWorkflowThereOnly()
    {
        var ops = await OpsAsync(TlsServerFixture.OwnerKey);
        var name = "ops-" + Guid.NewGuid().ToString("N")[..8];
        var created = await ops.CloudService.CreateNamespaceAsync(new CreateNamespaceRequest
        {
            Spec = new NamespaceSpec { Name = name, RetentionDays = 3, ApiKeyAuth = new ApiKeyAuthSpec { Enabled = true } },
        });
        Assert.Equal($"{name}.{TlsServerFixture.Account}", created.Namespace);
        Assert.Equal(AsyncOperation.Types.State.Fulfilled, created.AsyncOperation.State);
        var operation = await ops.CloudService.GetAsyncOperationAsync(new GetAsyncOperationRequest { AsyncOperationId = created.AsyncOperation.Id });
        Assert.Equal(AsyncOperation.Types.State.Fulfilled, operation.AsyncOperation.State);

        var user = await ops.CloudService.CreateUserAsync(new CreateUserRequest
        {
            Spec = new UserSpec { Email = $"dev-{name}@acme.test", Access = new Access { AccountAccess = new AccountAccess { Role = AccountAccess.Types.Role.Developer } } },
        });
        Assert.Equal($"dev-{name}@acme.test", (await ops.CloudService.GetUserAsync(new GetUserRequest { UserId = user.UserId })).User.Spec.Email);

        var account = await ops.CloudService.CreateServiceAccountAsync(new CreateServiceAccountRequest
        {
            Spec = new ServiceAccountSpec
            {
                Name = "worker",
                NamespaceScopedAccess = new NamespaceScopedAccess { Namespace = created.Namespace, Access = new NamespaceAccess { Permission = NamespaceAccess.Types.Permission.Write } },
            },
        });
        var key = await ops.CloudService.CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Spec = new ApiKeySpec
            {
                OwnerId = account.ServiceAccountId,
                OwnerType = OwnerType.ServiceAccount,
                DisplayName = "worker key",
                ExpiryTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(30)),
            },
        });
        Assert.StartsWith("bst_" + key.KeyId + "_", key.Token, StringComparison.Ordinal);

        var client = await TemporalClient.ConnectAsync(new($"127.0.0.1:{fixture.Port}") { Namespace = created.Namespace, ApiKey = key.Token, Tls = fixture.SharedHostTls });
        var taskQueue = "tq-" + Guid.NewGuid().ToString("N");
        using (var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<TlsConnectionTests.EchoWorkflow>()))
        {
            var result = await worker.ExecuteAsync(() => client.ExecuteWorkflowAsync(
                (TlsConnectionTests.EchoWorkflow wf) => wf.RunAsync("with an API key"), new("echo-" + Guid.NewGuid().ToString("N"), taskQueue)).WaitAsync(TimeSpan.FromSeconds(60)));
            Assert.Equal("echo with an API key", result);
        }

        var elsewhere = await TemporalClient.ConnectAsync(new($"127.0.0.1:{fixture.Port}") { Namespace = "alpha.acme", ApiKey = key.Token, Tls = fixture.SharedHostTls });
        var denied = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() => elsewhere.StartWorkflowAsync(
            (TlsConnectionTests.EchoWorkflow wf) => wf.RunAsync("x"), new("denied-" + Guid.NewGuid().ToString("N"), taskQueue)));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.PermissionDenied, denied.Code);

        var current = await ops.CloudService.GetApiKeyAsync(new GetApiKeyRequest { KeyId = key.KeyId });
        var disabledSpec = current.ApiKey.Spec.Clone();
        disabledSpec.Disabled = true;
        await ops.CloudService.UpdateApiKeyAsync(new UpdateApiKeyRequest { KeyId = key.KeyId, Spec = disabledSpec, ResourceVersion = current.ApiKey.ResourceVersion });
        var disabled = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() => client.StartWorkflowAsync(
            (TlsConnectionTests.EchoWorkflow wf) => wf.RunAsync("x"), new("disabled-" + Guid.NewGuid().ToString("N"), taskQueue)));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.PermissionDenied, disabled.Code);
        Assert.Contains("disabled", disabled.Message, StringComparison.Ordinal);

        // The audit log names the key by its public id and never carries the token.
        Assert.Contains(fixture.Audit.Records, r => r.ApiKeyId == key.KeyId);
        Assert.DoesNotContain(fixture.Audit.Records, r => r.ToString().Contains(key.Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task StaleResourceVersion_IsFailedPrecondition()
    {
        var ops = await OpsAsync(TlsServerFixture.OwnerKey);
        var user = await ops.CloudService.CreateUserAsync(new CreateUserRequest
        {
            Spec = new UserSpec { Email = $"r-{Guid.NewGuid():N}@acme.test", Access = new Access { AccountAccess = new AccountAccess { Role = AccountAccess.Types.Role.Read } } },
        });
        var read = (await ops.CloudService.GetUserAsync(new GetUserRequest { UserId = user.UserId })).User;
        await ops.CloudService.UpdateUserAsync(new UpdateUserRequest { UserId = user.UserId, Spec = read.Spec, ResourceVersion = read.ResourceVersion });
        var stale = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() =>
            ops.CloudService.UpdateUserAsync(new UpdateUserRequest { UserId = user.UserId, Spec = read.Spec, ResourceVersion = read.ResourceVersion }));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.FailedPrecondition, stale.Code);
    }

    [Fact]
    public async Task Developer_CreatesANamespace_AndAdministersOnlyThat()
    {
        var ops = await OpsAsync(TlsServerFixture.OwnerKey);
        var dev = await ops.CloudService.CreateUserAsync(new CreateUserRequest
        {
            Spec = new UserSpec { Email = $"d-{Guid.NewGuid():N}@acme.test", Access = new Access { AccountAccess = new AccountAccess { Role = AccountAccess.Types.Role.Developer } } },
        });
        var devKey = await ops.CloudService.CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Spec = new ApiKeySpec { OwnerId = dev.UserId, OwnerType = OwnerType.User, ExpiryTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)) },
        });
        var devOps = await OpsAsync(devKey.Token);
        var name = "dev-" + Guid.NewGuid().ToString("N")[..8];
        await devOps.CloudService.CreateNamespaceAsync(new CreateNamespaceRequest { Spec = new NamespaceSpec { Name = name, RetentionDays = 1, ApiKeyAuth = new() { Enabled = true } } });
        var visible = await devOps.CloudService.GetNamespacesAsync(new GetNamespacesRequest());
        Assert.Equal([$"{name}.acme"], visible.Namespaces.Select(n => n.Namespace_));

        var denied = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() =>
            devOps.CloudService.GetNamespaceAsync(new GetNamespaceRequest { Namespace = "alpha.acme" }));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.PermissionDenied, denied.Code);
        var notAdmin = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() =>
            devOps.CloudService.CreateUserAsync(new CreateUserRequest { Spec = new UserSpec { Email = "x@acme.test", Access = new() { AccountAccess = new() { Role = AccountAccess.Types.Role.Read } } } }));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.PermissionDenied, notAdmin.Code);
    }

    [Fact]
    public async Task MethodsOutsideTheSupportedSet_AreUnimplemented()
    {
        var ops = await OpsAsync(TlsServerFixture.OwnerKey);
        var error = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() => ops.CloudService.GetRegionsAsync(new GetRegionsRequest()));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.Unimplemented, error.Code);
    }
}
