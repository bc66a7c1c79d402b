using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;

namespace Bastion.Security.Tls;

/// <summary>
/// The certificate-filter rules of the security model: at most 25 filters; fields CN, O, OU, SAN; all set fields
/// of a filter must match; a client must match at least one filter (no filters: any certificate of the bundle);
/// case-insensitive; one <c>*</c> allowed, at the start or the end of a value.
/// </summary>
public static class CertificateFilters
{
    public const int MaxFilters = 25;
    public const int MaxValueLength = 1024;

    private const string CommonNameOid = "2.5.4.3";
    private const string OrganizationOid = "2.5.4.10";
    private const string OrganizationalUnitOid = "2.5.4.11";

    /// <summary>INVALID_ARGUMENT naming the first broken rule.</summary>
    public static void Validate(IReadOnlyList<CertificateFilter> filters)
    {
        ArgumentNullException.ThrowIfNull(filters);
        if (filters.Count > MaxFilters)
        {
            throw ServiceException.InvalidArgument($"Too many certificate filters: {filters.Count}; at most {MaxFilters} are allowed.");
        }

        for (var i = 0; i < filters.Count; i++)
        {
            var f = filters[i];
            if (f.CommonName is null && f.Organization is null && f.OrganizationalUnit is null && f.SubjectAlternativeName is null)
            {
                throw ServiceException.InvalidArgument($"Certificate filter {i + 1} sets no field: set at least one of commonName, organization, organizationalUnit, subjectAlternativeName.");
            }

            CheckValue(i, "commonName", f.CommonName);
            CheckValue(i, "organization", f.Organization);
            CheckValue(i, "organizationalUnit", f.OrganizationalUnit);
            CheckValue(i, "subjectAlternativeName", f.SubjectAlternativeName);
        }
    }

    /// <summary>Whether the certificate passes the filters: no filters, or at least one matching filter.</summary>
    public static bool Allow(IReadOnlyList<CertificateFilter> filters, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(filters);
        ArgumentNullException.ThrowIfNull(certificate);
        if (filters.Count == 0)
        {
            return true;
        }

        var subject = SubjectValues(certificate.SubjectName);
        var sans = SubjectAlternativeNames(certificate);
        return filters.Any(f =>
            FieldMatches(f.CommonName, subject.GetValueOrDefault(CommonNameOid))
            && FieldMatches(f.Organization, subject.GetValueOrDefault(OrganizationOid))
            && FieldMatches(f.OrganizationalUnit, subject.GetValueOrDefault(OrganizationalUnitOid))
            && FieldMatches(f.SubjectAlternativeName, sans));
    }

    /// <summary>One pattern against one value: exact, <c>prefix*</c> or <c>*suffix</c>, ignoring case.</summary>
    public static bool ValueMatches(string pattern, string value)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(value);
        if (pattern.StartsWith('*'))
        {
            return value.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase);
        }

        return pattern.EndsWith('*')
            ? value.StartsWith(pattern[..^1], StringComparison.OrdinalIgnoreCase)
            : string.Equals(pattern, value, StringComparison.OrdinalIgnoreCase);
    }

    private static void CheckValue(int index, string field, string? value)
    {
        if (value is null)
        {
            return;
        }

        if (value.Length == 0 || value.Length > MaxValueLength)
        {
            throw ServiceException.InvalidArgument($"Certificate filter {index + 1}: {field} must be 1 to {MaxValueLength} characters (omit it to leave it unset).");
        }

        var stars = value.Count(c => c == '*');
        if (stars > 1 || (stars == 1 && !value.StartsWith('*') && !value.EndsWith('*')))
        {
            throw ServiceException.InvalidArgument(
                $"Certificate filter {index + 1}: {field} {ServiceException.Quote(value)} may hold one '*', only at its start or its end.");
        }
    }

    private static bool FieldMatches(string? pattern, IReadOnlyList<string>? values) =>
        pattern is null || (values is not null && values.Any(v => ValueMatches(pattern, v)));

    private static Dictionary<string, IReadOnlyList<string>> SubjectValues(X500DistinguishedName name)
    {
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var rdn in name.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements || rdn.GetSingleElementValue() is not { } value)
            {
                continue;
            }

            var oid = rdn.GetSingleElementType().Value ?? string.Empty;
            if (!result.TryGetValue(oid, out var list))
            {
                result[oid] = list = [];
            }

            list.Add(value);
        }

        return result.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, StringComparer.Ordinal);
    }

    /// <summary>The DNS names, IP addresses, e-mail addresses and URIs of the certificate's SAN extension.</summary>
    private static List<string> SubjectAlternativeNames(X509Certificate2 certificate)
    {
        var result = new List<string>();
        if (certificate.Extensions["2.5.29.17"] is not { } extension)
        {
            return result;
        }

        var san = new X509SubjectAlternativeNameExtension(extension.RawData, extension.Critical);
        result.AddRange(san.EnumerateDnsNames());
        result.AddRange(san.EnumerateIPAddresses().Select(ip => ip.ToString()));
        // rfc822Name [1] and uniformResourceIdentifier [6] are IA5Strings the extension type does not expose.
        var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
        while (reader.HasData)
        {
            var tag = reader.PeekTag();
            if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue is 1 or 6)
            {
                result.Add(reader.ReadCharacterString(UniversalTagNumber.IA5String, tag));
            }
            else
            {
                reader.ReadEncodedValue();
            }
        }

        return result;
    }
}
