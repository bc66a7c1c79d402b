using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Bastion.Security.Tls;

/// <summary>
/// A parsed X.509 CRL (RFC 5280 §5): issuer, validity and revoked serial numbers, with its signature checked
/// against a CA. .NET builds CRLs but does not read them, hence this small reader.
/// </summary>
internal sealed class CertificateRevocationList
{
    private readonly byte[] _tbs;
    private readonly byte[] _signature;
    private readonly string _signatureAlgorithm;

    private CertificateRevocationList(byte[] tbs, byte[] signature, string signatureAlgorithm, byte[] issuer, DateTime? nextUpdate, HashSet<BigInteger> revoked)
    {
        _tbs = tbs;
        _signature = signature;
        _signatureAlgorithm = signatureAlgorithm;
        Issuer = issuer;
        NextUpdate = nextUpdate;
        Revoked = revoked;
    }

    /// <summary>The issuer's distinguished name, DER.</summary>
    public byte[] Issuer { get; }

    public DateTime? NextUpdate { get; }

    public IReadOnlySet<BigInteger> Revoked { get; }

    /// <summary>Every CRL in a file: PEM (<c>X509 CRL</c> blocks, several allowed) or one DER CRL.</summary>
    public static IReadOnlyList<CertificateRevocationList> ParseFile(byte[] content)
    {
        var text = System.Text.Encoding.ASCII.GetString(content);
        var result = new List<CertificateRevocationList>();
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual("X509 CRL"))
            {
                result.Add(Parse(Convert.FromBase64String(rest[fields.Base64Data].ToString())));
            }

            rest = rest[fields.Location.End..];
        }

        if (result.Count == 0)
        {
            result.Add(Parse(content));
        }

        return result;
    }

    public static CertificateRevocationList Parse(byte[] der)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var tbsBytes = outer.PeekEncodedValue().ToArray();
        var tbs = outer.ReadSequence();
        var algorithm = outer.ReadSequence().ReadObjectIdentifier();
        var signature = outer.ReadBitString(out _);

        if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            tbs.ReadInteger(); // version
        }

        tbs.ReadSequence(); // signature algorithm, repeated inside
        var issuer = tbs.ReadEncodedValue().ToArray();
        ReadTime(tbs); // thisUpdate
        DateTime? nextUpdate = null;
        if (tbs.HasData && IsTime(tbs.PeekTag()))
        {
            nextUpdate = ReadTime(tbs);
        }

        var revoked = new HashSet<BigInteger>();
        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            var entries = tbs.ReadSequence();
            while (entries.HasData)
            {
                var entry = entries.ReadSequence();
                revoked.Add(entry.ReadInteger());
            }
        }

        return new CertificateRevocationList(tbsBytes, signature, algorithm, issuer, nextUpdate, revoked);
    }

    /// <summary>Whether <paramref name="ca"/> issued and signed this CRL.</summary>
    public bool IsSignedBy(X509Certificate2 ca)
    {
        ArgumentNullException.ThrowIfNull(ca);
        if (!ca.SubjectName.RawData.AsSpan().SequenceEqual(Issuer))
        {
            return false;
        }

        var hash = _signatureAlgorithm switch
        {
            "1.2.840.113549.1.1.11" or "1.2.840.10045.4.3.2" => HashAlgorithmName.SHA256,
            "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" => HashAlgorithmName.SHA384,
            "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" => HashAlgorithmName.SHA512,
            _ => default,
        };
        if (hash == default)
        {
            return false;
        }

        using var rsa = ca.GetRSAPublicKey();
        if (rsa != null)
        {
            return rsa.VerifyData(_tbs, _signature, hash, RSASignaturePadding.Pkcs1);
        }

        using var ecdsa = ca.GetECDsaPublicKey();
        return ecdsa != null && ecdsa.VerifyData(_tbs, _signature, hash, DSASignatureFormat.Rfc3279DerSequence);
    }

    private static bool IsTime(Asn1Tag tag) =>
        tag.HasSameClassAndValue(new Asn1Tag(UniversalTagNumber.UtcTime)) || tag.HasSameClassAndValue(new Asn1Tag(UniversalTagNumber.GeneralizedTime));

    private static DateTime ReadTime(AsnReader reader) =>
        (reader.PeekTag().HasSameClassAndValue(new Asn1Tag(UniversalTagNumber.UtcTime)) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime()).UtcDateTime;
}
