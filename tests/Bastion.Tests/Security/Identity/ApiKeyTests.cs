using System.Text;
using Bastion.Engine.Errors;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Security.Identity;

/// <summary>API keys at the identity layer, on a real SQLite file and a clock the test moves.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Disposed by xUnit through IAsyncLifetime.DisposeAsync.")]
public sealed class ApiKeyTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-keys-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTime _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SqliteStorageProvider _store;
    private readonly GroupCommitter _committer;
    private readonly IdentityRegistry _identities;
    private readonly ApiKeyAuthenticator _authenticator;
    private UserEntry _user = null!;

    public ApiKeyTests()
    {
        Directory.CreateDirectory(_directory);
        _store = SqliteStorageProvider.OpenFile(Path.Combine(_directory, "bastion.db"));
        _committer = new GroupCommitter(_store, AuditRecordCodec.Plain);
        _identities = new IdentityRegistry(_store, _committer, _time);
        _authenticator = new ApiKeyAuthenticator(_identities, _time);
    }

    public async Task InitializeAsync()
    {
        await _store.MigrateAsync(1, CancellationToken.None);
        _user = await _identities.CreateAsync(new UserEntry { Id = "user-1", Account = "acme", Email = "a@acme.test", Role = AccountRole.Developer });
    }

    private Task<(ApiKeyEntry Key, string Token)> NewKeyAsync(string ownerId = "user-1", PrincipalType type = PrincipalType.User, TimeSpan? lifetime = null) =>
        _identities.CreateApiKeyAsync(new ApiKeyEntry
        {
            Id = string.Empty,
            Account = "acme",
            OwnerId = ownerId,
            OwnerType = type,
            ExpiryTime = _time.GetUtcNow().UtcDateTime + (lifetime ?? TimeSpan.FromDays(30)),
            SecretHash = [],
        });

    [Fact]
    public async Task Token_CarriesA256BitSecret_AndAuthenticatesAsItsOwner()
    {
        var (key, token) = await NewKeyAsync();
        var parsed = ApiKeyToken.Parse(token);
        Assert.Equal(key.Id, parsed.PublicId);
        Assert.True(Convert.FromBase64String(Encoding.ASCII.GetString(parsed.Secret).Replace('-', '+').Replace('_', '/') + "=").Length >= 32);
        var principal = await _authenticator.AuthenticateAsync(token);
        Assert.Equal((PrincipalType.User, _user.Id, key.Id), (principal.Type, principal.Id, principal.ApiKeyId));
    }

    [Fact]
    public async Task WrongSecret_OrUnknownKey_IsUnauthenticated()
    {
        var (_, token) = await NewKeyAsync();
        var tampered = token[..^2] + (token[^2] == 'a' ? "bb" : "aa");
        Assert.Equal(ErrorKind.Unauthenticated, (await Assert.ThrowsAsync<ServiceException>(async () => await _authenticator.AuthenticateAsync(tampered))).Kind);
        Assert.Equal(ErrorKind.Unauthenticated, (await Assert.ThrowsAsync<ServiceException>(async () => await _authenticator.AuthenticateAsync("bst_aaaaaaaaaaaaaaaa_nothing"))).Kind);
    }

    [Fact]
    public async Task Secret_NeverReachesTheDatabaseFile()
    {
        var (_, token) = await NewKeyAsync();
        var secret = Encoding.ASCII.GetString(ApiKeyToken.Parse(token).Secret);
        _store.Dispose();
        foreach (var file in Directory.GetFiles(_directory))
        {
            var bytes = File.ReadAllBytes(file);
            Assert.DoesNotContain(secret, Encoding.ASCII.GetString(bytes), StringComparison.Ordinal);
            Assert.DoesNotContain(secret, Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task DisablingExpiryAndDeletion_TakeEffectOnTheNextCall()
    {
        var (key, token) = await NewKeyAsync(lifetime: TimeSpan.FromHours(1));
        await _authenticator.AuthenticateAsync(token);
        await _identities.UpdateAsync<ApiKeyEntry>("acme", key.Id, "API key", null, k => k with { Disabled = true });
        Assert.Equal(ErrorKind.PermissionDenied, (await Assert.ThrowsAsync<ServiceException>(async () => await _authenticator.AuthenticateAsync(token))).Kind);
        await _identities.UpdateAsync<ApiKeyEntry>("acme", key.Id, "API key", null, k => k with { Disabled = false });
        await _authenticator.AuthenticateAsync(token);

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Contains("expired", (await Assert.ThrowsAsync<ServiceException>(async () => await _authenticator.AuthenticateAsync(token))).Message, StringComparison.Ordinal);

        var (other, otherToken) = await NewKeyAsync();
        await _identities.DeleteAsync<ApiKeyEntry>("acme", other.Id, "API key", null);
        Assert.Equal(ErrorKind.Unauthenticated, (await Assert.ThrowsAsync<ServiceException>(async () => await _authenticator.AuthenticateAsync(otherToken))).Kind);
    }

    [Fact]
    public async Task Expiry_IsAtMostTwoYears()
    {
        var error = (await Assert.ThrowsAsync<ServiceException>(async () => await NewKeyAsync(lifetime: TimeSpan.FromDays(2 * 365 + 2))));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("2 years", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LiveKeys_AreLimitedPerUserAndServiceAccount_WithAClearError()
    {
        for (var i = 0; i < IdentityRegistry.MaxKeysPerUser; i++)
        {
            await NewKeyAsync();
        }

        var error = (await Assert.ThrowsAsync<ServiceException>(async () => await NewKeyAsync()));
        Assert.Equal(ErrorKind.ResourceExhausted, error.Kind);
        Assert.Contains("the limit is 10", error.Message, StringComparison.Ordinal);

        await _identities.CreateAsync(new ServiceAccountEntry { Id = "sa-1", Account = "acme", Name = "worker", Role = AccountRole.Read });
        for (var i = 0; i < IdentityRegistry.MaxKeysPerServiceAccount; i++)
        {
            await NewKeyAsync("sa-1", PrincipalType.ServiceAccount);
        }

        Assert.Contains("the limit is 20", (await Assert.ThrowsAsync<ServiceException>(async () => await NewKeyAsync("sa-1", PrincipalType.ServiceAccount))).Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromDays(31)); // expired keys no longer count
        await NewKeyAsync();
    }

    [Fact]
    public async Task GroupMembership_GrantsTheMostPermissiveOfTheGrants()
    {
        await _identities.CreateAsync(new UserGroupEntry
        {
            Id = "g-1",
            Account = "acme",
            DisplayName = "admins",
            Role = AccountRole.Admin,
            NamespaceAccess = new Dictionary<string, Permission> { ["ns-1"] = Permission.NamespaceAdmin },
            Members = new Dictionary<string, DateTime> { [_user.Id] = DateTime.UtcNow },
        });
        var principal = await _authenticator.AuthenticateAsync((await NewKeyAsync()).Token);
        Assert.True(principal.Allows(Permission.AccountAdmin, null));
        Assert.Equal(Permission.NamespaceAdmin, principal.NamespaceGrants["ns-1"]);
    }

    [Fact]
    public async Task BootstrapOwnerKey_ChosenByTheOperator_IsTheOwnersKey_AndOnlyOnAnEmptyAccount()
    {
        const string chosen = "an-operator-chosen-owner-key-of-40-chars!";
        Assert.Null(await OwnerBootstrap.RunAsync(_identities, "globex", "owner@globex.test", chosen, _time));
        var owner = await _authenticator.AuthenticateAsync(chosen);
        Assert.True(owner.HasRole(r => r == AccountRole.Owner));
        Assert.Null(await OwnerBootstrap.RunAsync(_identities, "globex", "owner@globex.test", null, _time)); // already has an owner
        Assert.NotNull(await OwnerBootstrap.RunAsync(_identities, "initech", "owner@initech.test", null, _time));
        await Assert.ThrowsAsync<ArgumentException>(async () => await OwnerBootstrap.RunAsync(_identities, "umbrella", "o@u.test", "too-short", _time));
    }

    public async Task DisposeAsync()
    {
        await _committer.DisposeAsync();
        _store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
