using System.Text;
using Bastion.Engine.Errors;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Security.Identity;

/// <summary>API keys at the identity layer, on a real SQLite file and a clock the test moves.</summary>
public sealed class ApiKeyTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-keys-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTime _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SqliteExecutionStore _store;
    private readonly IdentityRegistry _identities;
    private readonly ApiKeyAuthenticator _authenticator;
    private readonly UserEntry _user;

    public ApiKeyTests()
    {
        Directory.CreateDirectory(_directory);
        _store = SqliteExecutionStore.OpenFile(Path.Combine(_directory, "bastion.db"));
        _store.Initialize(1);
        _identities = new IdentityRegistry(_store, _time);
        _authenticator = new ApiKeyAuthenticator(_identities, _time);
        _user = _identities.Create(new UserEntry { Id = "user-1", Account = "acme", Email = "a@acme.test", Role = AccountRole.Developer });
    }

    private (ApiKeyEntry Key, string Token) NewKey(string ownerId = "user-1", PrincipalType type = PrincipalType.User, TimeSpan? lifetime = null) =>
        _identities.CreateApiKey(new ApiKeyEntry
        {
            Id = string.Empty,
            Account = "acme",
            OwnerId = ownerId,
            OwnerType = type,
            ExpiryTime = _time.GetUtcNow().UtcDateTime + (lifetime ?? TimeSpan.FromDays(30)),
            SecretHash = [],
        });

    [Fact]
    public void Token_CarriesA256BitSecret_AndAuthenticatesAsItsOwner()
    {
        var (key, token) = NewKey();
        var parsed = ApiKeyToken.Parse(token);
        Assert.Equal(key.Id, parsed.PublicId);
        Assert.True(Convert.FromBase64String(Encoding.ASCII.GetString(parsed.Secret).Replace('-', '+').Replace('_', '/') + "=").Length >= 32);
        var principal = _authenticator.Authenticate(token);
        Assert.Equal((PrincipalType.User, _user.Id, key.Id), (principal.Type, principal.Id, principal.ApiKeyId));
    }

    [Fact]
    public void WrongSecret_OrUnknownKey_IsUnauthenticated()
    {
        var (_, token) = NewKey();
        var tampered = token[..^2] + (token[^2] == 'a' ? "bb" : "aa");
        Assert.Equal(ErrorKind.Unauthenticated, Assert.Throws<ServiceException>(() => _authenticator.Authenticate(tampered)).Kind);
        Assert.Equal(ErrorKind.Unauthenticated, Assert.Throws<ServiceException>(() => _authenticator.Authenticate("bst_aaaaaaaaaaaaaaaa_nothing")).Kind);
    }

    [Fact]
    public void Secret_NeverReachesTheDatabaseFile()
    {
        var (_, token) = NewKey();
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
    public void DisablingExpiryAndDeletion_TakeEffectOnTheNextCall()
    {
        var (key, token) = NewKey(lifetime: TimeSpan.FromHours(1));
        _authenticator.Authenticate(token);
        _identities.Update<ApiKeyEntry>("acme", key.Id, "API key", null, k => k with { Disabled = true });
        Assert.Equal(ErrorKind.PermissionDenied, Assert.Throws<ServiceException>(() => _authenticator.Authenticate(token)).Kind);
        _identities.Update<ApiKeyEntry>("acme", key.Id, "API key", null, k => k with { Disabled = false });
        _authenticator.Authenticate(token);

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Contains("expired", Assert.Throws<ServiceException>(() => _authenticator.Authenticate(token)).Message, StringComparison.Ordinal);

        var (other, otherToken) = NewKey();
        _identities.Delete<ApiKeyEntry>("acme", other.Id, "API key", null);
        Assert.Equal(ErrorKind.Unauthenticated, Assert.Throws<ServiceException>(() => _authenticator.Authenticate(otherToken)).Kind);
    }

    [Fact]
    public void Expiry_IsAtMostTwoYears()
    {
        var error = Assert.Throws<ServiceException>(() => NewKey(lifetime: TimeSpan.FromDays(2 * 365 + 2)));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("2 years", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LiveKeys_AreLimitedPerUserAndServiceAccount_WithAClearError()
    {
        for (var i = 0; i < IdentityRegistry.MaxKeysPerUser; i++)
        {
            NewKey();
        }

        var error = Assert.Throws<ServiceException>(() => NewKey());
        Assert.Equal(ErrorKind.ResourceExhausted, error.Kind);
        Assert.Contains("the limit is 10", error.Message, StringComparison.Ordinal);

        _identities.Create(new ServiceAccountEntry { Id = "sa-1", Account = "acme", Name = "worker", Role = AccountRole.Read });
        for (var i = 0; i < IdentityRegistry.MaxKeysPerServiceAccount; i++)
        {
            NewKey("sa-1", PrincipalType.ServiceAccount);
        }

        Assert.Contains("the limit is 20", Assert.Throws<ServiceException>(() => NewKey("sa-1", PrincipalType.ServiceAccount)).Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromDays(31)); // expired keys no longer count
        NewKey();
    }

    [Fact]
    public void GroupMembership_GrantsTheMostPermissiveOfTheGrants()
    {
        _identities.Create(new UserGroupEntry
        {
            Id = "g-1",
            Account = "acme",
            DisplayName = "admins",
            Role = AccountRole.Admin,
            NamespaceAccess = new Dictionary<string, Permission> { ["ns-1"] = Permission.NamespaceAdmin },
            Members = new Dictionary<string, DateTime> { [_user.Id] = DateTime.UtcNow },
        });
        var principal = _authenticator.Authenticate(NewKey().Token);
        Assert.True(principal.Allows(Permission.AccountAdmin, null));
        Assert.Equal(Permission.NamespaceAdmin, principal.NamespaceGrants["ns-1"]);
    }

    [Fact]
    public void BootstrapOwnerKey_ChosenByTheOperator_IsTheOwnersKey_AndOnlyOnAnEmptyAccount()
    {
        const string chosen = "an-operator-chosen-owner-key-of-40-chars!";
        Assert.Null(OwnerBootstrap.Run(_identities, "globex", "owner@globex.test", chosen, _time));
        var owner = _authenticator.Authenticate(chosen);
        Assert.True(owner.HasRole(r => r == AccountRole.Owner));
        Assert.Null(OwnerBootstrap.Run(_identities, "globex", "owner@globex.test", null, _time)); // already has an owner
        Assert.NotNull(OwnerBootstrap.Run(_identities, "initech", "owner@initech.test", null, _time));
        Assert.Throws<ArgumentException>(() => OwnerBootstrap.Run(_identities, "umbrella", "o@u.test", "too-short", _time));
    }

    public void Dispose()
    {
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
