using System.Collections.Specialized;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Xml;
using Bastion.Security.Identity;
using Bastion.Security.Sessions;
using Bastion.Security.Sso;
using Bastion.Storage;
using ITfoxtec.Identity.Saml2;
using ITfoxtec.Identity.Saml2.Schemas;
using ITfoxtec.Identity.Saml2.Schemas.Metadata;
using Microsoft.AspNetCore.Http;

namespace Bastion.Server.Ui.Sso;

/// <summary>
/// Single sign-on with the account's SAML 2.0 identity provider, Bastion the service provider, on ITfoxtec.Identity.Saml2
/// with this glue: <c>GET /auth/saml/metadata</c> publishes the SP's metadata (entity id, the assertion consumer service,
/// assertions wanted signed); <c>GET /auth/saml/start?returnUrl=…</c> sends an AuthnRequest (HTTP-Redirect) to the
/// provider's single sign-on service, the return path as RelayState; <c>POST /auth/saml/acs</c> takes the provider's
/// response, SP- or IdP-initiated. A response is accepted only when the library finds every signature valid with the
/// provider's certificates from its metadata, exactly one assertion in the document (no signature wrapping), the issuer
/// the provider's entity id, the audience the SP's entity id and the times valid — and, checked here, the assertion
/// itself signed, the response's Destination (when present) and the bearer confirmation's Recipient this very
/// endpoint, and the assertion's id not used before (until the assertion expires) on any node of the cluster
/// (<see cref="ISignInStore.UseOnceAsync"/>: the database holds the ids used). Every refusal is audited with its reason
/// (<see cref="SamlFailures"/>); the assertion itself never is.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore never allocates its wait handle (only WaitAsync is used).")]
internal sealed class SamlSignIn(IdentityRegistry identities, UiSignIn signIn, IStorageProvider store, TimeProvider time)
{
    public const string MetadataPath = "/auth/saml/metadata";
    public const string StartPath = "/auth/saml/start";
    public const string AcsPath = "/auth/saml/acs";
    private const string AssertionNamespace = "urn:oasis:names:tc:SAML:2.0:assertion";
    private const string AuthnContextClaim = "http://schemas.microsoft.com/ws/2008/06/identity/claims/authenticationmethod";
    private const int MaxResponseBytes = 256 * 1024;
    private static readonly HttpClient s_metadataClient = new() { Timeout = TimeSpan.FromSeconds(10) };

    private readonly SemaphoreSlim _metadataLock = new(1, 1);
    private volatile CachedMetadata? _metadata;

    /// <summary>Serves the request if it is one of the SAML paths; null otherwise.</summary>
    public Task? TryServe(HttpContext context)
    {
        var path = context.Request.Path;
        var method = context.Request.Method;
        return path.Equals(MetadataPath, StringComparison.Ordinal) && HttpMethods.IsGet(method) ? MetadataAsync(context)
            : path.Equals(StartPath, StringComparison.Ordinal) && HttpMethods.IsGet(method) ? StartAsync(context)
            : path.Equals(AcsPath, StringComparison.Ordinal) && HttpMethods.IsPost(method) ? AcsAsync(context)
            : null;
    }

    private async Task MetadataAsync(HttpContext context)
    {
        if (Settings() is not { } saml)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var descriptor = new EntityDescriptor(new Saml2Configuration { Issuer = saml.SpEntityId })
        {
            SPSsoDescriptor = new SPSsoDescriptor
            {
                WantAssertionsSigned = true,
                AuthnRequestsSigned = false,
                AssertionConsumerServices = [new AssertionConsumerService { Binding = ProtocolBindings.HttpPost, Location = new Uri(AcsUrl(context.Request)) }],
                NameIDFormats = [NameIdentifierFormats.Email],
            },
        };
        context.Response.ContentType = "application/samlmetadata+xml";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(new Saml2Metadata(descriptor).CreateMetadata().ToXml());
    }

    private async Task StartAsync(HttpContext context)
    {
        if (Settings() is not { } saml)
        {
            await NotConfiguredAsync(context);
            return;
        }

        try
        {
            var idp = await IdpAsync(saml);
            var sso = idp.IdPSsoDescriptor.SingleSignOnServices.FirstOrDefault(s => s.Binding == ProtocolBindings.HttpRedirect)
                ?? throw new InvalidOperationException("The identity provider's metadata has no HTTP-Redirect single sign-on service.");
            var config = Configuration(saml, idp, sso.Location);
            var binding = new Saml2RedirectBinding { RelayState = UiSignIn.SafeReturnUrl(context.Request.Query["returnUrl"]) };
            binding.Bind(new Saml2AuthnRequest(config) { AssertionConsumerServiceUrl = new Uri(AcsUrl(context.Request)), Destination = sso.Location });
            context.Response.Redirect(binding.RedirectLocation.OriginalString);
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException or XmlException or TaskCanceledException or UnauthorizedAccessException)
        {
            await signIn.RefuseSsoAsync(context, UiSession.SamlMethod, "metadata", "the identity provider's metadata could not be read.");
        }
    }

    private async Task AcsAsync(HttpContext context)
    {
        if (Settings() is not { } saml)
        {
            await NotConfiguredAsync(context);
            return;
        }

        if (context.Request.ContentLength is > MaxResponseBytes || !context.Request.HasFormContentType)
        {
            await signIn.RefuseSsoAsync(context, UiSession.SamlMethod, "malformed", "the SAML response is not a form post of a reasonable size.");
            return;
        }

        var form = await context.Request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions { ValueLengthLimit = MaxResponseBytes }, context.RequestAborted);
        var request = new ITfoxtec.Identity.Saml2.Http.HttpRequest
        {
            Method = "POST",
            Form = new NameValueCollection { ["SAMLResponse"] = form["SAMLResponse"].ToString(), ["RelayState"] = form["RelayState"].ToString() },
            Query = [],
        };
        SsoIdentity who;
        try
        {
            var idp = await IdpAsync(saml);
            var response = new Saml2AuthnResponse(Configuration(saml, idp, null));
            new Saml2PostBinding().Unbind(request, response);
            if (response.Status != Saml2StatusCodes.Success)
            {
                await signIn.RefuseSsoAsync(context, UiSession.SamlMethod, "provider_error", "the identity provider refused the sign-in.");
                return;
            }

            var acs = AcsUrl(context.Request);
            if (await CheckEnvelopeAsync(response, acs) is { } refusal)
            {
                await signIn.RefuseSsoAsync(context, UiSession.SamlMethod, refusal.Reason, refusal.Message);
                return;
            }

            var claims = response.ClaimsIdentity;
            who = new SsoIdentity(
                UiSession.SamlMethod,
                saml.EmailAttribute is { } attribute ? claims.FindFirst(attribute)?.Value : response.NameId?.Value,
                true, // the provider vouches for its people's e-mail; SAML has no separate verified flag
                saml.GroupsAttribute is null ? null : claims.FindAll(saml.GroupsAttribute).Select(c => c.Value).ToHashSet(StringComparer.Ordinal),
                claims.FindAll(AuthnContextClaim).Select(c => c.Value).ToList());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var (reason, message) = SamlFailures.Describe(e);
            await signIn.RefuseSsoAsync(context, UiSession.SamlMethod, reason, message);
            return;
        }

        await signIn.CompleteSsoAsync(context, who, form["RelayState"].ToString());
    }

    /// <summary>What the library leaves to the service provider: the assertion signed itself, addressed to this endpoint, and not used before.</summary>
    private async Task<(string Reason, string Message)?> CheckEnvelopeAsync(Saml2AuthnResponse response, string acs)
    {
        var document = response.XmlDocument;
        var assertion = document.GetElementsByTagName("Assertion", AssertionNamespace).OfType<XmlElement>().Single(); // the library demands exactly one
        if (assertion.ChildNodes.OfType<XmlElement>().All(e => e.LocalName != "Signature" || e.NamespaceURI != System.Security.Cryptography.Xml.SignedXml.XmlDsigNamespaceUrl))
        {
            return ("unsigned_assertion", "the assertion is not signed (a signed response alone is not enough).");
        }

        if (response.Destination is { } destination && !string.Equals(destination.OriginalString, acs, StringComparison.Ordinal))
        {
            return ("recipient", "the response is addressed to another endpoint (Destination).");
        }

        var confirmations = assertion.GetElementsByTagName("SubjectConfirmationData", AssertionNamespace).OfType<XmlElement>().ToList();
        if (confirmations.Count == 0 || confirmations.Any(c => !string.Equals(c.GetAttribute("Recipient"), acs, StringComparison.Ordinal)))
        {
            return ("recipient", "the assertion is meant for another endpoint (Recipient).");
        }

        // An assertion is good for one sign-in, on whichever node it reaches first: its id (hashed: ids are the
        // provider's text, of any length) is used until the assertion expires.
        var now = time.GetUtcNow().UtcDateTime;
        var expires = response.SecurityTokenValidTo > now ? response.SecurityTokenValidTo.UtcDateTime : now.AddMinutes(5);
        var id = "saml/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(signIn.Account + "\n" + assertion.GetAttribute("ID"))));
        return await store.SignIn.UseOnceAsync(id, expires, now, CancellationToken.None) ? null : ("replayed", "this assertion was used before.");
    }

    private SamlSettings? Settings() => identities.SsoSettingsOf(signIn.Account)?.Saml is { Enabled: true } saml ? saml : null;

    private Task NotConfiguredAsync(HttpContext context) =>
        signIn.RefuseSsoAsync(context, UiSession.SamlMethod, "not_configured", "single sign-on with SAML is not turned on for this account.");

    private static Saml2Configuration Configuration(SamlSettings saml, EntityDescriptor idp, Uri? singleSignOn)
    {
        var config = new Saml2Configuration
        {
            Issuer = saml.SpEntityId,
            SingleSignOnDestination = singleSignOn,
            AllowedIssuer = idp.EntityId,
            AudienceRestricted = true,
            // The provider's certificates are trusted because its metadata (which the operator chose) names them.
            CertificateValidationMode = System.ServiceModel.Security.X509CertificateValidationMode.None,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        config.AllowedAudienceUris.Add(saml.SpEntityId);
        config.SignatureValidationCertificates.AddRange(idp.IdPSsoDescriptor.SigningCertificates);
        return config;
    }

    /// <summary>The provider's metadata, read again when the settings change.</summary>
    private async Task<EntityDescriptor> IdpAsync(SamlSettings saml)
    {
        var version = identities.SsoSettingsOf(signIn.Account)!.Version;
        if (_metadata is { } cached && cached.Version == version)
        {
            return cached.Idp;
        }

        await _metadataLock.WaitAsync();
        try
        {
            var xml = Uri.TryCreate(saml.IdpMetadata, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http"
                ? await s_metadataClient.GetStringAsync(uri)
                : await File.ReadAllTextAsync(saml.IdpMetadata);
            var idp = new EntityDescriptor().ReadIdPSsoDescriptor(xml);
            if (idp.IdPSsoDescriptor?.SigningCertificates?.Any() != true)
            {
                throw new InvalidOperationException("The identity provider's metadata names no signing certificate.");
            }

            _metadata = new CachedMetadata(version, idp);
            return idp;
        }
        finally
        {
            _metadataLock.Release();
        }
    }

    /// <summary>The provider's metadata as read for one version of the settings (one reference, swapped whole).</summary>
    private sealed record CachedMetadata(long Version, EntityDescriptor Idp);

    /// <summary>This endpoint's address as the browser reached it: what Destination and Recipient must name.</summary>
    private static string AcsUrl(HttpRequest request) => $"{request.Scheme}://{request.Host}{AcsPath}";
}
