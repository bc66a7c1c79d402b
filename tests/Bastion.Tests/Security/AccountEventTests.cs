using System.Text;
using Bastion.Engine.Namespaces;
using Bastion.Security.Audit;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Server;
using Bastion.Storage;
using Bastion.Storage.Sqlite;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Identity.V1;

namespace Bastion.Tests.Security;

/// <summary>Key, grant and access changes are audit events with their actor, written with the change.</summary>
public sealed class AccountEventTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-events-").FullName;

    [Fact]
    public async Task CloudOpsChanges_AreRecordedWithTheCaller_AndNoSecret()
    {
        await using var server = await BastionServer.StartAsync(new ServerOptions
        {
            Port = 0, DatabaseFile = Path.Combine(_directory, "b.db"), LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        });
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
        var ops = client.Connection.CloudService;

        var user = await ops.CreateUserAsync(new CreateUserRequest
        {
            Spec = new UserSpec { Email = $"u-{Guid.NewGuid():N}@acme.test", Access = new Access { AccountAccess = new AccountAccess { Role = AccountAccess.Types.Role.Developer } } },
        });
        var key = await ops.CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Spec = new ApiKeySpec { OwnerId = user.UserId, OwnerType = OwnerType.User, DisplayName = "ci", ExpiryTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)) },
        });
        var current = await ops.GetApiKeyAsync(new GetApiKeyRequest { KeyId = key.KeyId });
        var disabled = current.ApiKey.Spec.Clone();
        disabled.Disabled = true;
        await ops.UpdateApiKeyAsync(new UpdateApiKeyRequest { KeyId = key.KeyId, Spec = disabled, ResourceVersion = current.ApiKey.ResourceVersion });
        await ops.DeleteApiKeyAsync(new DeleteApiKeyRequest { KeyId = key.KeyId });
        await ops.DeleteUserAsync(new DeleteUserRequest { UserId = user.UserId });

        var events = await EventsAsync(server.AuditStore);
        Assert.Equal(
            [
                (AuditKinds.AccessGranted, user.UserId, "CreateUser"),
                (AuditKinds.ApiKeyCreated, key.KeyId, "CreateApiKey"),
                (AuditKinds.ApiKeyDisabled, key.KeyId, "UpdateApiKey"),
                (AuditKinds.ApiKeyDeleted, key.KeyId, "DeleteApiKey"),
                (AuditKinds.AccessRevoked, user.UserId, "DeleteUser"),
            ],
            events.Select(e => (e.Record.Kind, e.Record.Details["target_id"], e.Record.Operation.Split('/')[^1])));
        Assert.All(events, e => Assert.Equal("LocalDev", e.Record.PrincipalType));
        Assert.Equal(user.UserId, events[1].Record.Details["owner_id"]);
        var secret = Encoding.ASCII.GetString(Bastion.Security.Identity.ApiKeyToken.Parse(key.Token).Secret); // base64url: it may itself hold '_'
        Assert.All(await server.AuditStore.AllAsync(), r => Assert.DoesNotContain(secret, Encoding.UTF8.GetString(r.Data), StringComparison.Ordinal));
        Assert.Equal(AuditTampering.None, (await AuditChain.VerifyAsync(server.AuditStore)).Tampering);
    }

    [Fact]
    public async Task OperatorGrants_AreRecordedWithTheActor_InTheChain_AlsoFromAnotherWriter()
    {
        var db = Path.Combine(_directory, "grants.db");
        using var store = SqliteStorageProvider.OpenFile(db);
        await store.MigrateAsync(1, CancellationToken.None);
        await using var committer = new GroupCommitter(store, AuditRecordCodec.Plain);
        var ns = await new NamespaceRegistry(store, committer, TimeProvider.System).CreateAsync("payments", "acme", TimeSpan.FromDays(1), null);
        var identities = new IdentityRegistry(store, committer, TimeProvider.System);

        AuditActor.Current = AuditActor.CommandLine("erin", "bastion operator grant");
        var (grant, token) = await identities.GrantOperatorAsync(ns, "erin", "INC-7: stuck workflows", TimeSpan.FromHours(1), Permission.NamespaceRead);

        // A second writer on the same file (a server, say) extends the same chain.
        using (var other = SqliteStorageProvider.OpenFile(db))
        {
            AuditActor.Current = AuditActor.CommandLine("frank", "bastion operator revoke");
            await using var otherCommitter = new GroupCommitter(other, AuditRecordCodec.Plain);
            var registry = new IdentityRegistry(other, otherCommitter, TimeProvider.System);
            await registry.LoadAsync(CancellationToken.None);
            await registry.RevokeOperatorGrantAsync(grant.Id);
        }

        AuditActor.Current = null;
        var events = await EventsAsync(new DecodedAuditStore(store.Audit, AuditRecordCodec.Plain));
        Assert.Equal(
            [(AuditKinds.AccessGranted, grant.Id, "erin"), (AuditKinds.ApiKeyCreated, token.Split('_')[1], "erin"), (AuditKinds.AccessRevoked, grant.Id, "frank")],
            events.Select(e => (e.Record.Kind, e.Record.Details["target_id"], e.Record.PrincipalId)));
        Assert.Equal(("CommandLine", "INC-7: stuck workflows", ns.Id), (events[0].Record.PrincipalType, events[0].Record.Details["reason"], events[0].Record.NamespaceId));
        Assert.Equal(AuditTampering.None, (await AuditChain.VerifyAsync(new DecodedAuditStore(store.Audit, AuditRecordCodec.Plain))).Tampering);
    }

    private static async Task<List<AuditLogEntry>> EventsAsync(IAuditStore store) =>
        [.. (await store.AllAsync())
            .Select(r => AuditJson.Parse(r.Data))
            .Where(p => p.Record.Kind != AuditKinds.ApiCall)
            .Select(p => new AuditLogEntry(p.Chain, p.Sequence, p.Record, []))];

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
