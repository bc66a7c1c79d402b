using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Xml;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Bastion.Tests.Ui;

/// <summary>
/// A SAML 2.0 identity provider of the test's own, independent of the library Bastion uses: its responses are written
/// as XML text and their assertions signed with <see cref="SignedXml"/> (RSA-SHA256, exclusive C14N, enveloped) by a
/// key whose certificate is in its metadata file (<see cref="MetadataFile"/>). It serves, on loopback, a login page for
/// SP-initiated sign-in (<c>/sso</c>: the person types a login; the response is posted to Bastion's ACS by the browser)
/// and IdP-initiated sign-in (<c>/idp-initiated?login=…</c>). <see cref="Response"/> builds a response with any of the
/// hostile variations the tests need.
/// </summary>
internal sealed class SamlTestIdp : IAsyncDisposable
{
    public const string EntityId = "https://idp.acme.test/saml";
    private const string Protocol = "urn:oasis:names:tc:SAML:2.0:protocol";
    private const string Assertion = "urn:oasis:names:tc:SAML:2.0:assertion";

    private readonly RSA _key = RSA.Create(2048);
    private readonly RSA _foreignKey = RSA.Create(2048);
    private readonly X509Certificate2 _certificate;
    private readonly WebApplication _app;
    private readonly string _acs;
    private readonly IReadOnlyDictionary<string, (string Email, string[] Groups, string AuthnContext)> _people;

    private SamlTestIdp(WebApplication app, string acs, string directory, IReadOnlyDictionary<string, (string, string[], string)> people)
    {
        _app = app;
        _acs = acs;
        _people = people;
        _certificate = new CertificateRequest("CN=Bastion test IdP", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        MetadataFile = Path.Combine(directory, $"idp-metadata-{Guid.NewGuid():N}.xml");
    }

    public string MetadataFile { get; }

    public string Url { get; private set; } = string.Empty;

    /// <summary>Starts the provider for the Bastion UI at <paramref name="bastionUi"/>; people by login: e-mail, groups, authentication context class.</summary>
    public static async Task<SamlTestIdp> StartAsync(string bastionUi, IReadOnlyDictionary<string, (string, string[], string)> people)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var idp = new SamlTestIdp(app, bastionUi + "/auth/saml/acs", Path.GetTempPath(), people);
        app.MapGet("/sso", (HttpContext context) => Html(context, $"""
            <h1>Test SAML identity provider</h1>
            <form method="post" action="/sso/login"><input type="hidden" name="RelayState" value="{WebUtility.HtmlEncode(context.Request.Query["RelayState"])}">
            <label>Login <input name="login" autofocus></label> <button type="submit">Continue</button></form>
            """));
        app.MapPost("/sso/login", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            await PostToAcsAsync(context, idp, idp.Response(form["login"].ToString()), form["RelayState"].ToString());
        });
        app.MapGet("/idp-initiated", (HttpContext context) => PostToAcsAsync(context, idp, idp.Response(context.Request.Query["login"].ToString()), null));
        await app.StartAsync();
        idp.Url = app.Urls.Single();
        await File.WriteAllTextAsync(idp.MetadataFile, idp.Metadata());
        return idp;
    }

    /// <summary>A response for <paramref name="login"/>'s person, base64 as the HTTP-POST binding carries it, with <paramref name="variation"/>.</summary>
    public string Response(string login, Variation? variation = null)
    {
        var v = variation ?? new Variation();
        var (email, groups, context) = _people.TryGetValue(login, out var person) ? person : (login, [], "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport");
        var now = DateTime.UtcNow + v.Shift;
        var assertionId = v.AssertionId ?? "_a" + Guid.NewGuid().ToString("N");
        var attributes = string.Concat(groups.Select(g => $"<saml:AttributeValue>{g}</saml:AttributeValue>"));
        var assertion = $"""<saml:Assertion xmlns:saml="{Assertion}" ID="{assertionId}" Version="2.0" IssueInstant="{Time(now)}"><saml:Issuer>{EntityId}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{Time(now.AddMinutes(5))}" Recipient="{v.Recipient ?? _acs}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{Time(now.AddMinutes(-1))}" NotOnOrAfter="{Time(now.AddMinutes(5))}"><saml:AudienceRestriction><saml:Audience>{v.Audience ?? SamlSpEntityId}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{Time(now)}" SessionIndex="s-{assertionId}"><saml:AuthnContext><saml:AuthnContextClassRef>{context}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="groups">{attributes}</saml:Attribute></saml:AttributeStatement></saml:Assertion>""";
        var xml = $"""<samlp:Response xmlns:samlp="{Protocol}" xmlns:saml="{Assertion}" ID="_r{Guid.NewGuid():N}" Version="2.0" IssueInstant="{Time(now)}" Destination="{v.Destination ?? _acs}"><saml:Issuer>{EntityId}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>""";
        var document = new XmlDocument { PreserveWhitespace = true };
        document.LoadXml(xml);
        var assertionElement = (XmlElement)document.GetElementsByTagName("Assertion", Assertion)[0]!;
        if (v.SignAssertion)
        {
            Sign(assertionElement, assertionId, v.ForeignKey ? _foreignKey : _key);
        }

        if (v.SignResponse)
        {
            Sign(document.DocumentElement!, document.DocumentElement!.GetAttribute("ID"), _key);
        }

        v.Tamper?.Invoke(document);
        return Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(document.OuterXml));
    }

    /// <summary>How a response departs from a good one.</summary>
    public sealed record Variation
    {
        public string? Audience { get; init; }

        public string? Recipient { get; init; }

        public string? Destination { get; init; }

        public TimeSpan Shift { get; init; }

        public string? AssertionId { get; init; }

        public bool SignAssertion { get; init; } = true;

        public bool SignResponse { get; init; }

        public bool ForeignKey { get; init; }

        /// <summary>Changes the document after signing.</summary>
        public Action<XmlDocument>? Tamper { get; init; }
    }

    /// <summary>The entity id Bastion is configured with in the tests.</summary>
    public const string SamlSpEntityId = "urn:bastion:sp:acme";

    private void Sign(XmlElement element, string id, RSA key)
    {
        var signed = new SignedXml(element) { SigningKey = key };
        signed.SignedInfo!.CanonicalizationMethod = SignedXml.XmlDsigExcC14NTransformUrl;
        signed.SignedInfo.SignatureMethod = SignedXml.XmlDsigRSASHA256Url;
        var reference = new Reference("#" + id) { DigestMethod = SignedXml.XmlDsigSHA256Url };
        reference.AddTransform(new XmlDsigEnvelopedSignatureTransform());
        reference.AddTransform(new XmlDsigExcC14NTransform());
        signed.AddReference(reference);
        signed.KeyInfo = new KeyInfo();
        signed.KeyInfo.AddClause(new KeyInfoX509Data(_certificate));
        signed.ComputeSignature();
        var issuer = element.ChildNodes.OfType<XmlElement>().First(e => e.LocalName == "Issuer");
        element.InsertAfter(element.OwnerDocument.ImportNode(signed.GetXml(), true), issuer); // the schema's place: right after Issuer
    }

    private string Metadata() => $"""
        <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{EntityId}">
          <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{Convert.ToBase64String(_certificate.Export(X509ContentType.Cert))}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
            <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{Url}/sso"/>
          </md:IDPSSODescriptor>
        </md:EntityDescriptor>
        """;

    private static string Time(DateTime time) => time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static Task PostToAcsAsync(HttpContext context, SamlTestIdp idp, string response, string? relayState) => Html(context, $"""
        <form method="post" action="{idp._acs}"><input type="hidden" name="SAMLResponse" value="{response}">{(relayState is null ? string.Empty : $"<input type=\"hidden\" name=\"RelayState\" value=\"{WebUtility.HtmlEncode(relayState)}\">")}
        <noscript><button type="submit">Continue</button></noscript></form><script>document.forms[0].submit()</script>
        """);

    private static Task Html(HttpContext context, string body)
    {
        context.Response.ContentType = "text/html";
        return context.Response.WriteAsync($"<!doctype html><html><head><title>Test SAML IdP</title></head><body>{body}</body></html>");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _key.Dispose();
        _foreignKey.Dispose();
        _certificate.Dispose();
        File.Delete(MetadataFile);
    }
}
