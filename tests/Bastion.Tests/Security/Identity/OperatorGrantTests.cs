using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Security.Identity;

/// <summary>Operator grants at the identity layer, on a real SQLite file and a clock the test moves.</summary>
public sealed class OperatorGrantTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-grants-").FullName;
    private readonly ManualTime _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SqliteExecutionStore _store;
    private readonly IdentityRegistry _identities;
    private readonly ApiKeyAuthenticator _authenticator;
    private readonly NamespaceEntry _payments;
    private readonly NamespaceEntry _billing;

    public OperatorGrantTests()
    {
        _store = SqliteExecutionStore.OpenFile(Path.Combine(_directory, "bastion.db"));
        _store.Initialize(1);
        var namespaces = new NamespaceRegistry(_store, _time);
        _payments = namespaces.Create("payments", "acme", TimeSpan.FromDays(1), null);
        _billing = namespaces.Create("billing", "acme", TimeSpan.FromDays(1), null);
        _identities = new IdentityRegistry(_store, _time);
        _authenticator = new ApiKeyAuthenticator(_identities, _time);
    }

    [Fact]
    public void Grant_GivesItsNamespaceOnly_UntilItExpiresByTheClock()
    {
        var (grant, token) = _identities.GrantOperator(_payments, "alice", "INC-42: stuck workflows", TimeSpan.FromHours(2), Permission.NamespaceRead);
        var principal = _authenticator.Authenticate(token);
        Assert.Equal((PrincipalType.Operator, grant.Id, "alice"), (principal.Type, principal.Id, principal.Name));
        Assert.True(principal.Allows(Permission.NamespaceRead, _payments));
        Assert.False(principal.Allows(Permission.NamespaceWrite, _payments));
        Assert.False(principal.Allows(Permission.NamespaceRead, _billing));
        Assert.False(principal.Allows(Permission.AccountRead, null));

        _time.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(1));
        _authenticator.Authenticate(token);
        _time.Advance(TimeSpan.FromSeconds(1));
        var expired = Assert.Throws<ServiceException>(() => _authenticator.Authenticate(token));
        Assert.Equal(ErrorKind.PermissionDenied, expired.Kind);
        Assert.Contains("expired", expired.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RevokedGrant_StopsAtOnce_AndStaysOnRecord()
    {
        var (grant, token) = _identities.GrantOperator(_payments, "bob", "CHG-7", TimeSpan.FromHours(1), Permission.NamespaceWrite);
        _authenticator.Authenticate(token);
        _identities.RevokeOperatorGrant(grant.Id);
        Assert.Equal(ErrorKind.PermissionDenied, Assert.Throws<ServiceException>(() => _authenticator.Authenticate(token)).Kind);

        var reloaded = new IdentityRegistry(_store, _time);
        reloaded.Load();
        Assert.Equal("CHG-7", Assert.Single(reloaded.OperatorGrants()).Reason);
    }

    [Theory]
    [InlineData("8h1m", "a reason", "at most 8 hours")]
    [InlineData("0s", "a reason", "at most 8 hours")]
    [InlineData("1h", " ", "needs a reason")]
    public void Grant_RefusesMoreThanEightHours_OrNoReason(string duration, string reason, string message)
    {
        var error = Assert.Throws<ServiceException>(() =>
            _identities.GrantOperator(_payments, "carol", reason, Bastion.Cli.DurationSyntax.Parse(duration, "--duration"), Permission.NamespaceRead));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Empty(_identities.OperatorGrants());
    }

    [Fact]
    public void OperatorKey_WhoseGrantIsGone_HasNoAccess()
    {
        var (grant, token) = _identities.GrantOperator(_payments, "dave", "INC-1", TimeSpan.FromHours(1), Permission.NamespaceAdmin);
        _identities.Delete<OperatorGrantEntry>("acme", grant.Id, "Operator grant", null);
        Assert.Equal(ErrorKind.Unauthenticated, Assert.Throws<ServiceException>(() => _authenticator.Authenticate(token)).Kind);
    }

    public void Dispose()
    {
        _store.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
