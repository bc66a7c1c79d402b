using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Security.Identity;

/// <summary>Operator grants at the identity layer, on a real SQLite file and a clock the test moves.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Disposed by xUnit through IAsyncLifetime.DisposeAsync.")]
public sealed class OperatorGrantTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-grants-").FullName;
    private readonly ManualTime _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SqliteStorageProvider _store;
    private readonly GroupCommitter _committer;
    private readonly IdentityRegistry _identities;
    private readonly ApiKeyAuthenticator _authenticator;
    private NamespaceEntry _payments = null!;
    private NamespaceEntry _billing = null!;

    public OperatorGrantTests()
    {
        _store = SqliteStorageProvider.OpenFile(Path.Combine(_directory, "bastion.db"));
        _committer = new GroupCommitter(_store, AuditRecordCodec.Plain);
        _identities = new IdentityRegistry(_store, _committer, _time);
        _authenticator = new ApiKeyAuthenticator(_identities, _time);
    }

    public async Task InitializeAsync()
    {
        await _store.MigrateAsync(1, CancellationToken.None);
        var namespaces = new NamespaceRegistry(_store, _committer, _time);
        _payments = await namespaces.CreateAsync("payments", "acme", TimeSpan.FromDays(1), null);
        _billing = await namespaces.CreateAsync("billing", "acme", TimeSpan.FromDays(1), null);
    }

    [Fact]
    public async Task Grant_GivesItsNamespaceOnly_UntilItExpiresByTheClock()
    {
        var (grant, token) = await _identities.GrantOperatorAsync(_payments, "alice", "INC-42: stuck workflows", TimeSpan.FromHours(2), Permission.NamespaceRead);
        var principal = await _authenticator.AuthenticateAsync(token);
        Assert.Equal((PrincipalType.Operator, grant.Id, "alice"), (principal.Type, principal.Id, principal.Name));
        Assert.True(principal.Allows(Permission.NamespaceRead, _payments));
        Assert.False(principal.Allows(Permission.NamespaceWrite, _payments));
        Assert.False(principal.Allows(Permission.NamespaceRead, _billing));
        Assert.False(principal.Allows(Permission.AccountRead, null));

        _time.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(1));
        await _authenticator.AuthenticateAsync(token);
        _time.Advance(TimeSpan.FromSeconds(1));
        var expired = (await Assert.ThrowsAsync<ServiceException>(async () => await _authenticator.AuthenticateAsync(token)));
        Assert.Equal(ErrorKind.PermissionDenied, expired.Kind);
        Assert.Contains("expired", expired.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokedGrant_StopsAtOnce_AndStaysOnRecord()
    {
        var (grant, token) = await _identities.GrantOperatorAsync(_payments, "bob", "CHG-7", TimeSpan.FromHours(1), Permission.NamespaceWrite);
        await _authenticator.AuthenticateAsync(token);
        await _identities.RevokeOperatorGrantAsync(grant.Id);
        Assert.Equal(ErrorKind.PermissionDenied, (await Assert.ThrowsAsync<ServiceException>(async () => await _authenticator.AuthenticateAsync(token))).Kind);

        var reloaded = new IdentityRegistry(_store, _committer, _time);
        await reloaded.LoadAsync(CancellationToken.None);
        Assert.Equal("CHG-7", Assert.Single(reloaded.OperatorGrants()).Reason);
    }

    [Theory]
    [InlineData("8h1m", "a reason", "at most 8 hours")]
    [InlineData("0s", "a reason", "at most 8 hours")]
    [InlineData("1h", " ", "needs a reason")]
    public async Task Grant_RefusesMoreThanEightHours_OrNoReason(string duration, string reason, string message)
    {
        var error = (await Assert.ThrowsAsync<ServiceException>(async () =>
            await _identities.GrantOperatorAsync(_payments, "carol", reason, Bastion.Cli.DurationSyntax.Parse(duration, "--duration"), Permission.NamespaceRead)));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Empty(_identities.OperatorGrants());
    }

    [Fact]
    public async Task OperatorKey_WhoseGrantIsGone_HasNoAccess()
    {
        var (grant, token) = await _identities.GrantOperatorAsync(_payments, "dave", "INC-1", TimeSpan.FromHours(1), Permission.NamespaceAdmin);
        await _identities.DeleteAsync<OperatorGrantEntry>("acme", grant.Id, "Operator grant", null);
        Assert.Equal(ErrorKind.Unauthenticated, (await Assert.ThrowsAsync<ServiceException>(async () => await _authenticator.AuthenticateAsync(token))).Kind);
    }

    public async Task DisposeAsync()
    {
        await _committer.DisposeAsync();
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
