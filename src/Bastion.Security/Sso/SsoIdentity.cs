namespace Bastion.Security.Sso;

/// <summary>
/// What an identity provider vouched for, from a token or assertion whose signature, issuer, audience and validity
/// were already checked: the person's e-mail (the Bastion user key) and whether the provider verified it, their groups
/// (null when the provider sent no groups claim, or none is configured), and the authentication methods and context
/// (<c>amr</c> and <c>acr</c>) it reported, for the MFA rule.
/// </summary>
public sealed record SsoIdentity(string Method, string? Email, bool EmailVerified, IReadOnlyCollection<string>? Groups, IReadOnlyCollection<string> AuthMethods);
