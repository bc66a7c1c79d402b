using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Tls;

namespace Bastion.Tests.Security.Tls;

public sealed class CertificateFiltersTests
{
    [Theory]
    [InlineData("worker", "worker", true)]
    [InlineData("Worker", "wORKER", true)]
    [InlineData("worker*", "worker-7", true)]
    [InlineData("worker*", "my-worker", false)]
    [InlineData("*.example.com", "a.Example.COM", true)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*", "anything", true)]
    [InlineData("worker", "worker-7", false)]
    public void ValueMatches_ExactOrOneLeadingOrTrailingStar_IgnoringCase(string pattern, string value, bool expected) =>
        Assert.Equal(expected, CertificateFilters.ValueMatches(pattern, value));

    [Fact]
    public void AllSetFieldsOfAFilter_MustMatch()
    {
        using var ca = TestPki.Ca("ca");
        using var certificate = TestPki.Client(ca, "worker-1", "Acme", "Payments");
        Assert.True(CertificateFilters.Allow([new CertificateFilter("worker-*", "acme", "payments")], certificate));
        Assert.False(CertificateFilters.Allow([new CertificateFilter("worker-*", "acme", "billing")], certificate));
        Assert.False(CertificateFilters.Allow([new CertificateFilter(Organization: "Other")], certificate));
    }

    [Fact]
    public void AClient_MustMatchAtLeastOneFilter_AndNoFiltersAllowsAny()
    {
        using var ca = TestPki.Ca("ca");
        using var certificate = TestPki.Client(ca, "worker-1", "Acme");
        Assert.True(CertificateFilters.Allow([], certificate));
        Assert.True(CertificateFilters.Allow([new CertificateFilter("nope"), new CertificateFilter(Organization: "ACME")], certificate));
        Assert.False(CertificateFilters.Allow([new CertificateFilter("nope"), new CertificateFilter(Organization: "nope")], certificate));
    }

    [Fact]
    public void SubjectAlternativeName_MatchesTheDnsNames()
    {
        using var ca = TestPki.Ca("ca");
        using var certificate = TestPki.Client(ca, "worker-1", dnsNames: ["worker.payments.example.com"]);
        Assert.True(CertificateFilters.Allow([new CertificateFilter(SubjectAlternativeName: "*.payments.example.com")], certificate));
        Assert.False(CertificateFilters.Allow([new CertificateFilter(SubjectAlternativeName: "*.billing.example.com")], certificate));
        using var without = TestPki.Client(ca, "worker-1");
        Assert.False(CertificateFilters.Allow([new CertificateFilter(SubjectAlternativeName: "*")], without));
    }

    [Theory]
    [InlineData("a*b")]
    [InlineData("*a*")]
    [InlineData("**")]
    [InlineData("")]
    public void Validate_RefusesBadPatterns(string pattern)
    {
        var error = Assert.Throws<ServiceException>(() => CertificateFilters.Validate([new CertificateFilter(CommonName: pattern)]));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("commonName", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RefusesAFilterWithoutFields()
    {
        var error = Assert.Throws<ServiceException>(() => CertificateFilters.Validate([new CertificateFilter()]));
        Assert.Contains("sets no field", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_AllowsAtMost25Filters()
    {
        var filters = Enumerable.Range(0, 25).Select(i => new CertificateFilter($"worker-{i}")).ToList();
        CertificateFilters.Validate(filters);
        filters.Add(new CertificateFilter("one-too-many"));
        var error = Assert.Throws<ServiceException>(() => CertificateFilters.Validate(filters));
        Assert.Contains("at most 25", error.Message, StringComparison.Ordinal);
    }
}
