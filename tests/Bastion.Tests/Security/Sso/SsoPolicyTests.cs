using Bastion.Engine.Errors;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Security.Sessions;
using Bastion.Security.Sso;
using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Security.Sso;

/// <summary>
/// The rules every single sign-on follows, on their own (the browser tests drive them through OIDC and SAML): who the
/// person becomes, groups following the provider's claim, the MFA rule at sign-in and for the session's life, and
/// why a session stops standing.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Disposed by xUnit through IAsyncLifetime.DisposeAsync.")]
public sealed class SsoPolicyTests : IAsyncLifetime
{
    private const string Account = "acme";
    private readonly ManualTime _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SqliteStorageProvider _store = SqliteStorageProvider.OpenInMemory();
    private readonly GroupCommitter _committer;
    private readonly IdentityRegistry _identities;
    private readonly SsoPolicy _policy;
    private readonly UiSessions _sessions;

    public SsoPolicyTests()
    {
        _committer = new GroupCommitter(_store, AuditRecordCodec.Plain);
        _identities = new IdentityRegistry(_store, _committer, _time);
        _policy = new SsoPolicy(_identities, _time);
        _sessions = new UiSessions(new UiSessionOptions(), _time);
    }

    public async Task InitializeAsync()
    {
        await _store.MigrateAsync(1, CancellationToken.None);
        await _identities.CreateAsync(new UserEntry { Id = "dev", Account = Account, Email = "Dev@Acme.test", Role = AccountRole.Developer });
        await _identities.CreateAsync(new UserGroupEntry { Id = "eng", Account = Account, DisplayName = "Engineers", IdpGroup = "eng", Role = AccountRole.Read });
        await _identities.CreateAsync(new UserGroupEntry { Id = "owners", Account = Account, DisplayName = "Owners", IdpGroup = "owners", Role = AccountRole.Owner });
        await SetAsync(s => s);
    }

    [Fact]
    public async Task ThePerson_IsTheUserWithTheVerifiedEmail_IgnoringCase()
    {
        var (principal, mfa) = await _policy.SignInAsync(Account, Who("dev@acme.test"));
        Assert.Equal("dev", principal.Id);
        Assert.False(mfa);

        var unverified = await Assert.ThrowsAsync<ServiceException>(() => _policy.SignInAsync(Account, Who("dev@acme.test") with { EmailVerified = false }));
        Assert.Equal(ErrorKind.PermissionDenied, unverified.Kind);
        var noEmail = await Assert.ThrowsAsync<ServiceException>(() => _policy.SignInAsync(Account, Who(null)));
        Assert.Equal(ErrorKind.Unauthenticated, noEmail.Kind);
    }

    [Fact]
    public async Task AnUninvitedPerson_IsRefused_OrWithJustInTimeUsers_GetsAUserWithNoAccess()
    {
        var refused = await Assert.ThrowsAsync<ServiceException>(() => _policy.SignInAsync(Account, Who("new@acme.test")));
        Assert.Contains("invite", refused.Message, StringComparison.Ordinal);
        Assert.Null(_identities.UserByEmail(Account, "new@acme.test"));

        await SetAsync(s => s with { JitUsers = true });
        var (principal, _) = await _policy.SignInAsync(Account, Who("new@acme.test"));
        var user = _identities.Find<UserEntry>(principal.Id)!;
        Assert.Equal(AccountRole.None, user.Role);
        Assert.Empty(user.NamespaceAccess);
        Assert.False(principal.Allows(Permission.AccountMember, null));
    }

    [Fact]
    public async Task Groups_FollowTheClaim_JoinedWhereListed_LeftWhereNot_UntouchedWithoutAClaim()
    {
        await _policy.SignInAsync(Account, Who("dev@acme.test", groups: ["eng", "unknown"]));
        Assert.True(_identities.Find<UserGroupEntry>("eng")!.Members.ContainsKey("dev"));

        await _policy.SignInAsync(Account, Who("dev@acme.test", groups: null)); // no claim: memberships stay
        Assert.True(_identities.Find<UserGroupEntry>("eng")!.Members.ContainsKey("dev"));

        await _policy.SignInAsync(Account, Who("dev@acme.test", groups: []));
        Assert.False(_identities.Find<UserGroupEntry>("eng")!.Members.ContainsKey("dev"));
    }

    [Fact]
    public async Task AnOwner_NeedsMfa_ByDefault_AndEveryoneWithTheRuleAll()
    {
        var owner = await Assert.ThrowsAsync<ServiceException>(() => _policy.SignInAsync(Account, Who("dev@acme.test", groups: ["owners"])));
        Assert.Contains("multiple factors", owner.Message, StringComparison.Ordinal);
        var (principal, mfa) = await _policy.SignInAsync(Account, Who("dev@acme.test", groups: ["owners"], methods: ["pwd", "mfa"]));
        Assert.True(mfa);
        Assert.True(principal.HasRole(r => r == AccountRole.Owner));

        await SetAsync(s => s with { RequireMfa = MfaRule.All, MfaValues = ["urn:acme:mfa"] });
        await Assert.ThrowsAsync<ServiceException>(() => _policy.SignInAsync(Account, Who("dev@acme.test", groups: [], methods: ["mfa"])));
        Assert.True((await _policy.SignInAsync(Account, Who("dev@acme.test", groups: [], methods: ["urn:acme:mfa"]))).Mfa);
    }

    [Fact]
    public async Task ASession_StopsStanding_WhenTheUserIsRemoved_SsoTurnedOff_OrTheyBecomeAnOwnerWithoutMfa()
    {
        var (principal, mfa) = await _policy.SignInAsync(Account, Who("dev@acme.test", groups: []));
        var (session, _, _) = _sessions.Create(principal, UiSession.OidcMethod, mfa);
        Assert.Equal("dev", _policy.AuthenticateSession(session).Id);
        Assert.Null(_policy.RevokedReason(session));

        await _identities.UpdateAsync<UserGroupEntry>(Account, "owners", "User group", null, g => g with { Members = new Dictionary<string, DateTime> { ["dev"] = DateTime.UtcNow } });
        Assert.Contains("multiple factors", _policy.RevokedReason(session), StringComparison.Ordinal);
        await _identities.UpdateAsync<UserGroupEntry>(Account, "owners", "User group", null, g => g with { Members = new Dictionary<string, DateTime>() });

        await SetAsync(s => s with { Oidc = s.Oidc! with { Enabled = false } });
        var off = Assert.Throws<ServiceException>(() => _policy.AuthenticateSession(session));
        Assert.Equal(ErrorKind.Unauthenticated, off.Kind);
        Assert.Contains("turned off", off.Message, StringComparison.Ordinal);
        Assert.NotNull(_identities.SsoSettingsOf(Account)!.Oidc); // the settings stay

        await SetAsync(s => s with { Oidc = s.Oidc! with { Enabled = true } });
        await _identities.DeleteAsync<UserEntry>(Account, "dev", "User", null);
        Assert.Contains("removed", Assert.Throws<ServiceException>(() => _policy.AuthenticateSession(session)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PeopleApiKeySignIn_Off_RefusesUsers_NotOwnersOrServiceAccounts()
    {
        await SetAsync(s => s with { PeopleApiKeySignIn = false });
        var developer = new Principal(PrincipalType.User, "dev", "dev@acme.test", AccountRole.Developer, Account) { ApiKeyId = "k" };
        Assert.Equal(ErrorKind.PermissionDenied, Assert.Throws<ServiceException>(() => _policy.CheckApiKeySignIn(developer)).Kind);
        _policy.CheckApiKeySignIn(developer with { Role = AccountRole.Owner });
        _policy.CheckApiKeySignIn(new Principal(PrincipalType.ServiceAccount, "sa", "ci", AccountRole.Developer, Account) { ApiKeyId = "k2" });
    }

    private static SsoIdentity Who(string? email, IReadOnlyCollection<string>? groups = null, IReadOnlyCollection<string>? methods = null) =>
        new(UiSession.OidcMethod, email, true, groups, methods ?? ["pwd"]);

    private Task SetAsync(Func<SsoSettingsEntry, SsoSettingsEntry> change) =>
        _identities.SetSsoSettingsAsync(Account, current => change(current ?? new SsoSettingsEntry
        {
            Id = string.Empty,
            Account = Account,
            Oidc = new OidcSettings("https://idp.acme.test", "bastion", null, null, "groups", [], Enabled: true),
        }));

    public async Task DisposeAsync()
    {
        await _committer.DisposeAsync();
        _store.Dispose();
    }
}
