using Bastion.Security.Authorization;
using Bastion.Security.Sessions;

namespace Bastion.Tests.Security.Sessions;

/// <summary>The web UI's session table on a clock the test moves: ids, CSRF tokens, timeouts, sign-out.</summary>
public sealed class UiSessionsTests
{
    private static readonly Principal s_user = new(PrincipalType.User, "user-1", "a@acme.test", AccountRole.Developer, "acme") { ApiKeyId = "key-1" };
    private readonly ManualTime _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly UiSessions _sessions;

    public UiSessionsTests() => _sessions = new UiSessions(new UiSessionOptions(), _time);

    [Fact]
    public void ASession_HasA256BitIdAndCsrfToken_EachNewOnEverySignIn()
    {
        var (session, id, csrf) = _sessions.Create(s_user);
        var (_, otherId, otherCsrf) = _sessions.Create(s_user);
        Assert.Equal(32, System.Buffers.Text.Base64Url.DecodeFromChars(id).Length);
        Assert.Equal(32, System.Buffers.Text.Base64Url.DecodeFromChars(csrf).Length);
        Assert.Equal(4, new HashSet<string> { id, csrf, otherId, otherCsrf }.Count);
        Assert.Equal(session.IdHash, _sessions.Find(id)?.IdHash); // read back from the store: the same session, a new object
        Assert.Equal("key-1", session.ApiKeyId);
    }

    [Fact]
    public void TheCsrfToken_MatchesOnlyItsOwnSession()
    {
        var (session, _, csrf) = _sessions.Create(s_user);
        var (_, _, otherCsrf) = _sessions.Create(s_user);
        Assert.True(session.CsrfMatches(csrf));
        Assert.False(session.CsrfMatches(otherCsrf));
        Assert.False(session.CsrfMatches(null));
        Assert.False(session.CsrfMatches(string.Empty));
        Assert.False(session.CsrfMatches(csrf[..^1]));
    }

    [Fact]
    public void AnUnknownId_OrAnEndedSession_FindsNothing()
    {
        var (_, id, _) = _sessions.Create(s_user);
        Assert.Null(_sessions.Find("not-a-session"));
        Assert.Null(_sessions.Find(null));
        Assert.NotNull(_sessions.End(id));
        Assert.Null(_sessions.Find(id));
        Assert.Null(_sessions.End(id));
    }

    [Fact]
    public void IdleAndAbsoluteTimeouts_EndASession()
    {
        var (_, idle, _) = _sessions.Create(s_user);
        var (_, busy, _) = _sessions.Create(s_user);
        for (var elapsed = TimeSpan.Zero; elapsed < TimeSpan.FromHours(8) - TimeSpan.FromMinutes(20); elapsed += TimeSpan.FromMinutes(20))
        {
            _time.Advance(TimeSpan.FromMinutes(20));
            Assert.NotNull(_sessions.Find(busy)); // used every 20 minutes: never idle for 30
        }

        Assert.Null(_sessions.Find(idle));
        _time.Advance(TimeSpan.FromMinutes(20)); // 8 hours after sign-in
        Assert.Null(_sessions.Find(busy));
    }

    [Fact]
    public void TimedOutSessions_AreDroppedAtTheNextSignIn()
    {
        _sessions.Create(s_user);
        _sessions.Create(s_user);
        _time.Advance(TimeSpan.FromHours(1));
        _sessions.Create(s_user);
        Assert.Equal(1, _sessions.Count);
    }

    [Theory]
    [InlineData(0, 30)]
    [InlineData(60, 0)]
    [InlineData(60, 61)]
    public void Options_RefuseTimeoutsThatCannotWork(int absoluteMinutes, int idleMinutes)
    {
        var options = new UiSessionOptions { AbsoluteTimeout = TimeSpan.FromMinutes(absoluteMinutes), IdleTimeout = TimeSpan.FromMinutes(idleMinutes) };
        Assert.Throws<ArgumentException>(options.Validate);
    }
}
