namespace Bastion.Engine.Namespaces;

/// <summary>
/// How clients authenticate to a namespace with mTLS: the CA bundle their certificates must chain to, the
/// filters one of which they must match (none: any certificate of the bundle), and an optional CRL file.
/// Stored with the namespace; validated (limits, key and signature algorithms) by the security layer before it is set.
/// </summary>
public sealed record NamespaceTlsPolicy
{
    /// <summary>PEM, one or more CA certificates; concatenating old and new CAs rotates a bundle without downtime.</summary>
    public required string CaBundlePem { get; init; }

    public IReadOnlyList<CertificateFilter> Filters { get; init; } = [];

    /// <summary>A CRL file (PEM or DER) re-read when it changes; null: no revocation checking, as in Temporal Cloud.</summary>
    public string? CrlFile { get; init; }
}
