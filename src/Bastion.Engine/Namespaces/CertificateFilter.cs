namespace Bastion.Engine.Namespaces;

/// <summary>
/// One certificate filter of a namespace: every field that is set must match the client certificate
/// (case-insensitive, one optional <c>*</c> at the start or end of a value). Unset fields are null.
/// </summary>
public sealed record CertificateFilter(
    string? CommonName = null,
    string? Organization = null,
    string? OrganizationalUnit = null,
    string? SubjectAlternativeName = null);
