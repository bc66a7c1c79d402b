using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;

namespace Bastion.Security.Tls;

/// <summary>The checks a namespace's TLS policy passes before it is stored; INVALID_ARGUMENT naming the problem.</summary>
public static class NamespaceTlsPolicies
{
    public static NamespaceTlsPolicy Validate(NamespaceTlsPolicy policy, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ClientCaBundle.Parse(policy.CaBundlePem, now);
        CertificateFilters.Validate(policy.Filters);
        if (policy.CrlFile is { } crl)
        {
            if (!Path.IsPathFullyQualified(crl))
            {
                throw ServiceException.InvalidArgument($"The CRL file {ServiceException.Quote(crl)} must be an absolute path: the server reads it.");
            }

            try
            {
                if (CertificateRevocationList.ParseFile(File.ReadAllBytes(crl)).Count == 0)
                {
                    throw ServiceException.InvalidArgument($"The CRL file {ServiceException.Quote(crl)} holds no CRL.");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw ServiceException.InvalidArgument($"The CRL file {ServiceException.Quote(crl)} cannot be read.");
            }
            catch (Exception e) when (e is System.Formats.Asn1.AsnContentException or FormatException or System.Security.Cryptography.CryptographicException)
            {
                throw ServiceException.InvalidArgument($"The CRL file {ServiceException.Quote(crl)} is not a valid CRL (PEM 'X509 CRL' or DER).");
            }
        }

        return policy;
    }

    /// <summary>The CAs of a namespace's bundle that expire within 15 days, described; empty without a policy.</summary>
    public static IReadOnlyList<string> ExpiringCas(NamespaceEntry entry, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Tls is not { } policy)
        {
            return [];
        }

        try
        {
            return ClientCaBundle.Parse(policy.CaBundlePem, DateTime.MinValue).Expiring(now).Select(ClientCaBundle.Describe).ToList();
        }
        catch (ServiceException e)
        {
            return [e.Message];
        }
    }
}
