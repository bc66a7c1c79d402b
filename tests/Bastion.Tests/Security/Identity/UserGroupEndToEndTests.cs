using Bastion.Tests.Security.Tls;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;
using Temporalio.Api.Cloud.Namespace.V1;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security.Identity;

/// <summary>
/// With the official Cloud Ops client: a user without namespace access gains it by joining a group that has it,
/// and loses it when removed; group writes check resource_version.
/// </summary>
[Collection(TlsServerCollection.Name)]
public sealed class UserGroupEndToEndTests(TlsServerFixture fixture)
{
    [Fact]
    public async Task UserGainsNamespaceAccessThroughAGroup_AndLosesItWhenRemoved()
    {
        var ops = await new CloudOpsEndToEndTests(fixture).OpsAsync(TlsServerFixture.OwnerKey);
        var name = "grp-" + Guid.NewGuid().ToString("N")[..8];
        var ns = (await ops.CloudService.CreateNamespaceAsync(new CreateNamespaceRequest
        {
            Spec = new NamespaceSpec { Name = name, RetentionDays = 1, ApiKeyAuth = new ApiKeyAuthSpec { Enabled = true } },
        })).Namespace;
        var user = await ops.CloudService.CreateUserAsync(new CreateUserRequest
        {
            Spec = new UserSpec { Email = $"{name}@acme.test", Access = new Access { AccountAccess = new AccountAccess { Role = AccountAccess.Types.Role.Read } } },
        });
        var key = await ops.CloudService.CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Spec = new ApiKeySpec { OwnerId = user.UserId, OwnerType = OwnerType.User, ExpiryTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)) },
        });
        var client = await TemporalClient.ConnectAsync(new($"127.0.0.1:{fixture.Port}") { Namespace = ns, ApiKey = key.Token, Tls = fixture.SharedHostTls });
        var before = await Assert.ThrowsAsync<RpcException>(() => client.CountWorkflowsAsync("WorkflowType = 'x'"));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, before.Code);

        var group = await ops.CloudService.CreateUserGroupAsync(new CreateUserGroupRequest
        {
            Spec = new UserGroupSpec { DisplayName = "readers " + name, CloudGroup = new CloudGroupSpec() },
        });
        Assert.Equal(Temporalio.Api.Cloud.Operation.V1.AsyncOperation.Types.State.Fulfilled, group.AsyncOperation.State);
        var read = (await ops.CloudService.GetUserGroupAsync(new GetUserGroupRequest { GroupId = group.GroupId })).Group;
        await ops.CloudService.SetUserGroupNamespaceAccessAsync(new SetUserGroupNamespaceAccessRequest
        {
            GroupId = group.GroupId,
            Namespace = ns,
            Access = new NamespaceAccess { Permission = NamespaceAccess.Types.Permission.Read },
            ResourceVersion = read.ResourceVersion,
        });
        var stale = await Assert.ThrowsAsync<RpcException>(() => ops.CloudService.UpdateUserGroupAsync(
            new UpdateUserGroupRequest { GroupId = group.GroupId, Spec = read.Spec, ResourceVersion = read.ResourceVersion }));
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, stale.Code);
        var stillDenied = await Assert.ThrowsAsync<RpcException>(() => client.CountWorkflowsAsync("WorkflowType = 'x'"));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, stillDenied.Code);

        await ops.CloudService.AddUserGroupMemberAsync(new AddUserGroupMemberRequest { GroupId = group.GroupId, MemberId = new UserGroupMemberId { UserId = user.UserId } });
        Assert.Equal(0, (await client.CountWorkflowsAsync("WorkflowType = 'x'")).Count);
        var members = await ops.CloudService.GetUserGroupMembersAsync(new GetUserGroupMembersRequest { GroupId = group.GroupId });
        Assert.Equal([user.UserId], members.Members.Select(m => m.MemberId.UserId));
        var withAccess = await ops.CloudService.GetUserGroupsAsync(new GetUserGroupsRequest { Namespace = ns });
        Assert.Equal([group.GroupId], withAccess.Groups.Select(g => g.Id));
        var writeDenied = await Assert.ThrowsAsync<RpcException>(() => client.StartWorkflowAsync("Wf", [], new("w-" + name, "tq")));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, writeDenied.Code);

        await ops.CloudService.RemoveUserGroupMemberAsync(new RemoveUserGroupMemberRequest { GroupId = group.GroupId, MemberId = new UserGroupMemberId { UserId = user.UserId } });
        var after = await Assert.ThrowsAsync<RpcException>(() => client.CountWorkflowsAsync("WorkflowType = 'x'"));
        Assert.Equal(RpcException.StatusCode.PermissionDenied, after.Code);

        var current = (await ops.CloudService.GetUserGroupAsync(new GetUserGroupRequest { GroupId = group.GroupId })).Group;
        await ops.CloudService.DeleteUserGroupAsync(new DeleteUserGroupRequest { GroupId = group.GroupId, ResourceVersion = current.ResourceVersion });
        var gone = await Assert.ThrowsAsync<RpcException>(() => ops.CloudService.GetUserGroupAsync(new GetUserGroupRequest { GroupId = group.GroupId }));
        Assert.Equal(RpcException.StatusCode.NotFound, gone.Code);
    }

    [Fact]
    public async Task GoogleGroups_AreInvalid_AndMembersMustBeUsersOfTheAccount()
    {
        var ops = await new CloudOpsEndToEndTests(fixture).OpsAsync(TlsServerFixture.OwnerKey);
        var google = await Assert.ThrowsAsync<RpcException>(() => ops.CloudService.CreateUserGroupAsync(new CreateUserGroupRequest
        {
            Spec = new UserGroupSpec { DisplayName = "g", GoogleGroup = new GoogleGroupSpec { EmailAddress = "g@acme.test" } },
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, google.Code);
        var group = await ops.CloudService.CreateUserGroupAsync(new CreateUserGroupRequest { Spec = new UserGroupSpec { DisplayName = "g-" + Guid.NewGuid().ToString("N") } });
        var noUser = await Assert.ThrowsAsync<RpcException>(() => ops.CloudService.AddUserGroupMemberAsync(
            new AddUserGroupMemberRequest { GroupId = group.GroupId, MemberId = new UserGroupMemberId { UserId = "nobody" } }));
        Assert.Equal(RpcException.StatusCode.NotFound, noUser.Code);
    }

    /// <summary>A group mirroring an identity provider's group is Cloud's SCIM group (<c>idp_id</c>): listed by it, its members only from SSO.</summary>
    [Fact]
    public async Task IdpGroups_AreScimGroupsByIdpId_WhoseMembersComeOnlyFromSingleSignOn()
    {
        var ops = await new CloudOpsEndToEndTests(fixture).OpsAsync(TlsServerFixture.OwnerKey);
        var idpId = "eng-" + Guid.NewGuid().ToString("N");
        var created = await ops.CloudService.CreateUserGroupAsync(new CreateUserGroupRequest
        {
            Spec = new UserGroupSpec { DisplayName = "mirror-" + idpId, ScimGroup = new SCIMGroupSpec { IdpId = idpId } },
        });
        var group = (await ops.CloudService.GetUserGroupAsync(new GetUserGroupRequest { GroupId = created.GroupId })).Group;
        Assert.Equal(idpId, group.Spec.ScimGroup.IdpId);
        var listed = await ops.CloudService.GetUserGroupsAsync(new GetUserGroupsRequest { ScimGroup = new GetUserGroupsRequest.Types.SCIMGroupFilter { IdpId = idpId } });
        Assert.Equal(created.GroupId, Assert.Single(listed.Groups).Id);

        var user = await ops.CloudService.CreateUserAsync(new CreateUserRequest { Spec = new UserSpec { Email = idpId + "@acme.test", Access = new Access { AccountAccess = new AccountAccess { Role = AccountAccess.Types.Role.Read } } } });
        var manual = await Assert.ThrowsAsync<RpcException>(() => ops.CloudService.AddUserGroupMemberAsync(
            new AddUserGroupMemberRequest { GroupId = created.GroupId, MemberId = new UserGroupMemberId { UserId = user.UserId } }));
        Assert.Equal(RpcException.StatusCode.FailedPrecondition, manual.Code);
        Assert.Contains(idpId, manual.Message, StringComparison.Ordinal);

        var empty = await Assert.ThrowsAsync<RpcException>(() => ops.CloudService.CreateUserGroupAsync(new CreateUserGroupRequest
        {
            Spec = new UserGroupSpec { DisplayName = "no-idp-id", ScimGroup = new SCIMGroupSpec() },
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, empty.Code);
    }
}
