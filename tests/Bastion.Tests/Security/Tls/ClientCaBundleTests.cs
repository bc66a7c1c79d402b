using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bastion.Engine.Errors;
using Bastion.Security.Tls;

namespace Bastion.Tests.Security.Tls;

public sealed class ClientCaBundleTests
{
    private static DateTime Now => DateTime.UtcNow;

    [Fact]
    public void AValidBundle_OfSeveralCas_IsAccepted()
    {
        using var a = TestPki.Ca("a");
        using var b = TestPki.Ca("b");
        Assert.Equal(2, ClientCaBundle.Parse(TestPki.Pem(a, b), Now).Certificates.Count);
    }

    [Fact]
    public void AtMost16Cas()
    {
        var cas = Enumerable.Range(0, 17).Select(i => TestPki.Ca("ca " + i)).ToArray();
        ClientCaBundle.Parse(TestPki.Pem(cas[..16]), Now);
        Assert.Contains("more than 16", Refused(TestPki.Pem(cas)), StringComparison.Ordinal);
    }

    [Fact]
    public void AtMost32KiB()
    {
        using var ca = TestPki.Ca("ca");
        var padded = TestPki.Pem(ca) + new string('\n', 32 * 1024);
        Assert.Contains("32 KiB", Refused(padded), StringComparison.Ordinal);
    }

    [Fact]
    public void EachCertificate_MustBeACa()
    {
        using var ca = TestPki.Ca("ca");
        using var leaf = TestPki.Client(ca, "worker");
        Assert.Contains("not a CA", Refused(TestPki.Pem(ca, leaf)), StringComparison.Ordinal);
    }

    [Fact]
    public void Sha1Signatures_AreRefused()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=old ca", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = request.Create(new X500DistinguishedName("CN=old ca"), new Sha1RsaSignatureGenerator(rsa),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), [1, 2, 3]);
        Assert.Equal("1.2.840.113549.1.1.5", ca.SignatureAlgorithm.Value);
        Assert.Contains("SHA-256 or stronger", Refused(TestPki.Pem(ca)), StringComparison.Ordinal);
    }

    /// <summary>Signs with SHA-1, which CertificateRequest no longer offers: to make the CA the rule must refuse.</summary>
    private sealed class Sha1RsaSignatureGenerator(RSA key) : X509SignatureGenerator
    {
        private readonly X509SignatureGenerator _inner = CreateForRSA(key, RSASignaturePadding.Pkcs1);

        public override byte[] GetSignatureAlgorithmIdentifier(HashAlgorithmName hashAlgorithm) =>
            [0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05, 0x05, 0x00];

#pragma warning disable CA5350 // The weak hash is the point: the bundle rules must refuse it.
        public override byte[] SignData(byte[] data, HashAlgorithmName hashAlgorithm) => key.SignData(data, HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1);
#pragma warning restore CA5350

        protected override PublicKey BuildPublicKey() => _inner.PublicKey;
    }

    [Fact]
    public void RsaWithSha256_IsAccepted()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=rsa ca", rsa, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        ClientCaBundle.Parse(TestPki.Pem(ca), Now);
    }

    [Fact]
    public void KeysOtherThanRsaOrEcdsa_AreRefused()
    {
        // A CA whose subject key is DSA, signed by an ECDSA key: only the key algorithm is wrong.
        using var dsa = DSA.Create(2048);
        using var signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=dsa ca"), new PublicKey(dsa), HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = request.Create(new X500DistinguishedName("CN=dsa ca"), X509SignatureGenerator.CreateForECDsa(signer),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), [1, 2, 3]);
        Assert.Contains("only RSA and ECDSA keys", Refused(TestPki.Pem(ca)), StringComparison.Ordinal);
    }

    [Fact]
    public void ExpiredCas_AreRefused()
    {
        using var ca = CertificateFactoryCa(DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(-1));
        Assert.Contains("expired", Refused(TestPki.Pem(ca)), StringComparison.Ordinal);
    }

    [Fact]
    public void PrivateKeys_AndEmptyBundles_AreRefused()
    {
        using var ca = TestPki.Ca("ca");
        Assert.Contains("never a private key", Refused(TestPki.Pem(ca) + Bastion.Server.Tls.CertificateFactory.PrivateKeyPem(ca)), StringComparison.Ordinal);
        Assert.Contains("no PEM certificate", Refused("hello"), StringComparison.Ordinal);
    }

    [Fact]
    public void CasExpiringWithin15Days_AreReported()
    {
        using var soon = CertificateFactoryCa(DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(10));
        using var later = TestPki.Ca("later");
        var expiring = ClientCaBundle.Parse(TestPki.Pem(soon, later), Now).Expiring(Now);
        Assert.Equal("CN=soon", Assert.Single(expiring).Subject);
    }

    private static X509Certificate2 CertificateFactoryCa(DateTimeOffset notBefore, DateTimeOffset notAfter) =>
        Bastion.Server.Tls.CertificateFactory.CreateCa("soon", notBefore, notAfter);

    private static string Refused(string pem)
    {
        var error = Assert.Throws<ServiceException>(() => ClientCaBundle.Parse(pem, Now));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        return error.Message;
    }
}
