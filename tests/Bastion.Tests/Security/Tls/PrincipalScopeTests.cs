using Bastion.Engine.Namespaces;
using Bastion.Security.Authorization;
using Bastion.Security.Tls;

namespace Bastion.Tests.Security.Tls;

/// <summary>A certificate principal may write its own namespace and nothing else.</summary>
public sealed class PrincipalScopeTests
{
    private static NamespaceEntry Entry(string name, string account) => new() { Id = Guid.NewGuid().ToString(), Name = name, Account = account };

    [Fact]
    public void CertificatePrincipal_WritesItsNamespaceOnly()
    {
        var alpha = Entry("alpha", "acme");
        var beta = Entry("beta", "acme");
        using var ca = TestPki.Ca("ca");
        using var certificate = TestPki.Client(ca, "worker");
        var principal = Principal.ForCertificate(alpha, certificate);

        Assert.True(principal.Allows(Permission.NamespaceWrite, alpha));
        Assert.True(principal.Allows(Permission.NamespaceRead, alpha));
        Assert.False(principal.Allows(Permission.NamespaceAdmin, alpha));
        Assert.False(principal.Allows(Permission.NamespaceRead, beta));
        Assert.False(principal.Allows(Permission.NamespaceWrite, null));
        Assert.False(principal.Allows(Permission.AccountRead, null));
        Assert.False(principal.Allows(Permission.AccountAdmin, null));
        Assert.True(principal.Allows(Permission.Public, null));
    }

    [Theory]
    [InlineData("alpha.acme.bastion.test", "bastion.test", "alpha.acme")]
    [InlineData("ALPHA.acme.Bastion.Test.", "bastion.test", "alpha.acme")]
    [InlineData("bastion.test", "bastion.test", null)]
    [InlineData("x.alpha.acme.bastion.test", "bastion.test", null)]
    [InlineData("alpha.bastion.test", "bastion.test", null)]
    [InlineData("alpha.acme.evil.test", "bastion.test", null)]
    [InlineData("alpha.acmebastion.test", "bastion.test", null)]
    [InlineData(null, "bastion.test", null)]
    [InlineData("alpha.acme.bastion.test", null, null)]
    public void EndpointHost_NamesANamespaceOnlyAsNameDotAccountDotBaseDomain(string? serverName, string? baseDomain, string? expected) =>
        Assert.Equal(expected, EndpointHost.NamespaceOf(serverName, baseDomain));
}
