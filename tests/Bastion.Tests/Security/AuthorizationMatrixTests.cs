using Bastion.Engine.Namespaces;
using Bastion.Security.Authorization;
using Bastion.Wire;

namespace Bastion.Tests.Security;

/// <summary>
/// The authorization matrix, generated from the service descriptors: every method of WorkflowService,
/// OperatorService and CloudService × every account role and namespace permission × own, foreign and other-account
/// namespace → allow or deny, checked against the SECURITY-MODEL's rules written out here independently of
/// <see cref="Principal.Allows"/>. A method left unclassified fails it.
/// </summary>
public sealed class AuthorizationMatrixTests
{
    private const string Account = "acme";
    private static readonly NamespaceEntry s_own = new() { Id = "own-id", Name = "own", Account = Account };
    private static readonly NamespaceEntry s_foreign = new() { Id = "foreign-id", Name = "foreign", Account = Account };
    private static readonly NamespaceEntry s_otherAccount = new() { Id = "other-id", Name = "own", Account = "globex" };

    /// <summary>Account roles each account-level permission admits (SECURITY-MODEL, Access).</summary>
    private static readonly Dictionary<Permission, AccountRole[]> s_accountRules = new()
    {
        [Permission.AccountMember] = [AccountRole.Read, AccountRole.FinanceAdmin, AccountRole.Developer, AccountRole.Admin, AccountRole.Owner],
        [Permission.AccountRead] = [AccountRole.Read, AccountRole.Developer, AccountRole.Admin, AccountRole.Owner],
        [Permission.AccountAdmin] = [AccountRole.Admin, AccountRole.Owner],
        [Permission.NamespaceCreate] = [AccountRole.Developer, AccountRole.Admin, AccountRole.Owner],
        [Permission.Billing] = [AccountRole.FinanceAdmin, AccountRole.Owner],
    };

    /// <summary>A caller of the matrix: an account role, a grant on the own namespace, or a binding to it.</summary>
    private sealed record Caller(string Label, Principal Principal, AccountRole Role, Permission? OwnGrant, bool BoundToOwn);

    private static IEnumerable<Caller> Callers()
    {
        foreach (var role in new[] { AccountRole.Owner, AccountRole.Admin, AccountRole.Developer, AccountRole.FinanceAdmin, AccountRole.Read })
        {
            yield return new($"user:{role}", new Principal(PrincipalType.User, "u", "u", role, Account), role, null, false);
        }

        foreach (var grant in new[] { Permission.NamespaceRead, Permission.NamespaceWrite, Permission.NamespaceAdmin })
        {
            var grants = new Dictionary<string, Permission> { [s_own.Id] = grant };
            yield return new($"user:read+{grant}", new Principal(PrincipalType.User, "u", "u", AccountRole.Read, Account) { NamespaceGrants = grants }, AccountRole.Read, grant, false);
            yield return new($"group:developer+{grant}", new Principal(PrincipalType.User, "u", "u", AccountRole.FinanceAdmin, Account)
            {
                Roles = new HashSet<AccountRole> { AccountRole.FinanceAdmin, AccountRole.Developer },
                NamespaceGrants = grants,
            }, AccountRole.Developer, grant, false);
            yield return new($"namespace-sa:{grant}", new Principal(PrincipalType.ServiceAccount, "sa", "sa", AccountRole.None, Account) { NamespaceId = s_own.Id, NamespacePermission = grant }, AccountRole.None, grant, true);
        }

        yield return new("certificate", Principal.ForCertificate(s_own, CertificateOf()), AccountRole.None, Permission.NamespaceWrite, true);
    }

    private static System.Security.Cryptography.X509Certificates.X509Certificate2 CertificateOf()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=matrix", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>The rule, from SECURITY-MODEL.md: what the caller may do with <paramref name="needed"/> on <paramref name="target"/>.</summary>
    private static bool Expected(Caller caller, Permission needed, NamespaceEntry? target)
    {
        if (needed == Permission.Public)
        {
            return true;
        }

        var roles = caller.Principal.Roles ?? new HashSet<AccountRole> { caller.Role };
        if (needed.IsNamespaceScoped())
        {
            if (target is null || target.Account != Account)
            {
                return false;
            }

            var admin = !caller.BoundToOwn && roles.Any(r => r is AccountRole.Admin or AccountRole.Owner);
            return admin || target == s_own && caller.OwnGrant is { } grant && Rank(grant) >= Rank(needed);
        }

        return !caller.BoundToOwn && roles.Intersect(s_accountRules[needed]).Any();
    }

    private static int Rank(Permission p) => p switch
    {
        Permission.NamespaceRead => 1,
        Permission.NamespaceWrite => 2,
        Permission.NamespaceAdmin => 3,
        _ => 0,
    };

    [Fact]
    public void EveryMethod_EveryCaller_EveryTarget_MatchesTheSecurityModel()
    {
        var mismatches = new List<string>();
        var checkedCases = 0;
        foreach (var method in GrpcServiceDescriptors.All.SelectMany(s => s.Methods))
        {
            var needed = MethodClassification.For(method.Service.Name, method.Name);
            if (needed is not { } permission)
            {
                mismatches.Add($"{method.Service.Name}/{method.Name}: unclassified");
                continue;
            }

            var targets = permission.IsNamespaceScoped() ? new[] { s_own, s_foreign, s_otherAccount } : new NamespaceEntry?[] { null };
            foreach (var caller in Callers())
            {
                foreach (var target in targets)
                {
                    checkedCases++;
                    var expected = Expected(caller, permission, target);
                    if (caller.Principal.Allows(permission, target) != expected)
                    {
                        mismatches.Add($"{method.Service.Name}/{method.Name} ({permission}) by {caller.Label} on {target?.FullName ?? "(account)"}: expected {(expected ? "allow" : "deny")}");
                    }
                }
            }
        }

        Assert.Empty(mismatches);
        Assert.True(checkedCases > 201 * 15, $"only {checkedCases} cases");
    }

    [Fact]
    public void ListingNamespaces_ShowsOnlyWhatTheCallerMayRead()
    {
        var reader = new Principal(PrincipalType.User, "u", "u", AccountRole.Read, Account) { NamespaceGrants = new Dictionary<string, Permission> { [s_own.Id] = Permission.NamespaceRead } };
        Assert.Equal([s_own], new[] { s_own, s_foreign, s_otherAccount }.Where(n => reader.Allows(Permission.NamespaceRead, n)));
    }
}
