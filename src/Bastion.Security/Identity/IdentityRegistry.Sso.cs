using Bastion.Security.Authorization;

namespace Bastion.Security.Identity;

/// <summary>
/// What single sign-on needs of the identities: a user's principal as it is now (their own access and their groups'),
/// the user an identity provider vouched for, found by e-mail (created just in time when the account allows it), their
/// identity-provider groups applied to the Bastion groups that mirror them, and the account's SSO settings.
/// </summary>
public sealed partial class IdentityRegistry
{
    /// <summary>The principal of <paramref name="user"/> with the access they have now: their role and grants merged with their groups' (the most permissive wins).</summary>
    public Principal PrincipalOf(UserEntry user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var groups = All<UserGroupEntry>(user.Account).Where(g => g.Members.ContainsKey(user.Id)).ToList();
        var grants = new Dictionary<string, Permission>(user.NamespaceAccess, StringComparer.Ordinal);
        foreach (var (ns, permission) in groups.SelectMany(g => g.NamespaceAccess))
        {
            grants[ns] = grants.TryGetValue(ns, out var current) && current > permission ? current : permission;
        }

        return new Principal(PrincipalType.User, user.Id, user.Email, user.Role, user.Account)
        {
            Roles = groups.Select(g => g.Role).Append(user.Role).ToHashSet(),
            NamespaceGrants = grants,
        };
    }

    /// <summary>The account's SSO settings, or null when none were ever set.</summary>
    public SsoSettingsEntry? SsoSettingsOf(string account) => Find<SsoSettingsEntry>(SsoSettingsEntry.IdOf(account)) is { } s && s.Account == account ? s : null;

    /// <summary>Creates or replaces the account's SSO settings with <paramref name="change"/> of the current ones (null: none yet).</summary>
    public Task<SsoSettingsEntry> SetSsoSettingsAsync(string account, Func<SsoSettingsEntry?, SsoSettingsEntry> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return WriteAsync(changes =>
        {
            var current = SsoSettingsOf(account);
            var next = change(current) with { Id = SsoSettingsEntry.IdOf(account), Account = account };
            return current is null
                ? Create(changes, next)
                : Store(changes, next with { Version = current.Version + 1, CreatedTime = current.CreatedTime, LastModifiedTime = Now });
        });
    }

    /// <summary>The account's user with this e-mail (compared ignoring case), or null.</summary>
    public UserEntry? UserByEmail(string account, string email) =>
        All<UserEntry>(account).FirstOrDefault(u => string.Equals(u.Email, email, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The user an identity provider signed in: the account's user with <paramref name="email"/>, or with
    /// <paramref name="createIfMissing"/> a new one with no role and no access; null when there is none. With
    /// <paramref name="idpGroups"/> (the provider sent a groups claim) their membership of every group that mirrors an
    /// identity-provider group (<see cref="UserGroupEntry.IdpGroup"/>) is made to match it: joined where listed, left
    /// where not. All of it lands in one transaction, each change with its account event.
    /// </summary>
    public Task<UserEntry?> SignedInUserAsync(string account, string email, IReadOnlyCollection<string>? idpGroups, bool createIfMissing) =>
        WriteAsync(changes =>
        {
            var user = UserByEmail(account, email);
            if (user is null)
            {
                if (!createIfMissing)
                {
                    return null;
                }

                user = Create(changes, new UserEntry { Id = Guid.NewGuid().ToString(), Account = account, Email = email, Role = AccountRole.None });
            }

            if (idpGroups is not null)
            {
                foreach (var group in All<UserGroupEntry>(account).Where(g => g.IdpGroup is not null).ToList())
                {
                    var listed = idpGroups.Contains(group.IdpGroup!, StringComparer.Ordinal);
                    if (listed != group.Members.ContainsKey(user.Id))
                    {
                        var members = listed
                            ? new Dictionary<string, DateTime>(group.Members, StringComparer.Ordinal) { [user.Id] = Now }
                            : group.Members.Where(m => m.Key != user.Id).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal);
                        Store(changes, group with { Members = members, Version = group.Version + 1, LastModifiedTime = Now });
                    }
                }
            }

            return user;
        });
}
