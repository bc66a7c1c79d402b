using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;

namespace Bastion.Cli;

/// <summary>
/// The command line's spelling of a certificate filter: <c>cn=worker-*;o=Acme, Inc.;ou=payments;san=*.acme.com</c>.
/// Fields are separated by ';' (commas are common inside O), keys are case-insensitive.
/// </summary>
internal static class CertificateFilterSyntax
{
    public static CertificateFilter Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string? cn = null, o = null, ou = null, san = null;
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq > 0 ? part[..eq].Trim().ToLowerInvariant() : string.Empty;
            var value = eq > 0 ? part[(eq + 1)..].Trim() : string.Empty;
            switch (key)
            {
                case "cn": cn = value; break;
                case "o": o = value; break;
                case "ou": ou = value; break;
                case "san": san = value; break;
                default:
                    throw ServiceException.InvalidArgument(
                        $"--certificate-filter {ServiceException.Quote(text)}: expected fields cn=, o=, ou=, san= separated by ';', got {ServiceException.Quote(part, 60)}.");
            }
        }

        return new CertificateFilter(cn, o, ou, san);
    }

    public static string Format(CertificateFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return string.Join(";", new[] { ("cn", filter.CommonName), ("o", filter.Organization), ("ou", filter.OrganizationalUnit), ("san", filter.SubjectAlternativeName) }
            .Where(p => p.Item2 != null).Select(p => $"{p.Item1}={p.Item2}"));
    }
}
