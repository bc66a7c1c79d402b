using System.Net;
using System.Security.Claims;
using Bastion.Security.Identity;
using Bastion.Security.Sessions;
using Bastion.Security.Sso;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Bastion.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bastion.Server.Ui.Sso;

/// <summary>
/// Single sign-on with the account's OpenID Connect provider, by ASP.NET Core's OpenID Connect handler: authorization
/// code with PKCE; <c>state</c> (protected, bound to this browser by a correlation cookie) and <c>nonce</c> checked;
/// the ID token's signature (the provider's published keys, found by discovery), issuer, audience (the client id) and
/// lifetime validated. <c>GET /auth/oidc/start?returnUrl=…</c> sends the browser to the provider;
/// <c>/auth/oidc/callback</c> receives the code, redeems it (with the client secret, read from a file or an environment
/// variable on this host and never logged) and hands the validated claims to <see cref="UiSignIn.CompleteSsoAsync"/>,
/// which starts the one UI session. Every refusal is audited with its reason (<see cref="OidcFailures"/>). The
/// handler's options follow the stored settings: changed settings are picked up at the next sign-in.
/// </summary>
internal sealed class OidcSignIn : IDisposable
{
    public const string Scheme = "bastion-oidc";
    public const string StartPath = "/auth/oidc/start";
    public const string CallbackPath = "/auth/oidc/callback";

    private readonly IdentityRegistry _identities;
    private readonly UiSignIn _signIn;
    private readonly ServiceProvider _services;
    private long _configuredVersion = -1;

    /// <summary>
    /// The handler lives in a service container of its own, used only for the requests to the two paths: in the
    /// server's, ASP.NET Core would put its authentication middleware in front of every call (gRPC included).
    /// </summary>
    public OidcSignIn(IdentityRegistry identities, UiSignIn signIn, IStorageProvider store, IRecordCodec codec, OidcClientSecret secrets, TimeProvider time, ILoggerFactory loggers)
    {
        _identities = identities;
        _signIn = signIn;
        var services = new ServiceCollection();
        services.AddSingleton(loggers);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton(identities);
        services.AddSingleton(signIn);
        services.AddSingleton(time);
        services.AddSingleton(secrets);
        services.AddAuthentication().AddOpenIdConnect(Scheme, _ => { });
        services.AddSingleton<IConfigureOptions<OpenIdConnectOptions>, OidcOptions>();
        // The state and nonce are protected with Data Protection keys kept in the database, sealed with the key ring, so
        // a sign-in started on one node of a cluster completes on any other (and survives a restart); never the
        // framework's default key files. A database not encrypted at rest cannot seal them: keys in memory only, and
        // a sign-in completes only on the node that started it.
        if (SealedXmlRepository.CanSeal(codec))
        {
            services.AddDataProtection().SetApplicationName("bastion-ui-sign-in");
            services.Configure<KeyManagementOptions>(o =>
            {
                o.XmlRepository = new SealedXmlRepository(store.SignIn, codec);
                o.XmlEncryptor = new NullXmlEncryptor(); // the repository seals the whole element with the key ring
            });
        }
        else
        {
            services.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider(loggers));
        }

        _services = services.BuildServiceProvider();
    }

    public void Dispose() => _services.Dispose();

    /// <summary>Serves the request if it is one of the OpenID Connect paths; null otherwise.</summary>
    public Task? TryServe(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.Equals(StartPath, StringComparison.Ordinal))
        {
            return HttpMethods.IsGet(context.Request.Method) ? WithOwnServicesAsync(context, StartAsync) : null;
        }

        return path.Equals(CallbackPath, StringComparison.Ordinal) ? WithOwnServicesAsync(context, CallbackAsync) : null;
    }

    private async Task WithOwnServicesAsync(HttpContext context, Func<HttpContext, Task> serve)
    {
        var original = context.RequestServices;
        await using var scope = _services.CreateAsyncScope();
        context.RequestServices = scope.ServiceProvider;
        try
        {
            await serve(context);
        }
        finally
        {
            context.RequestServices = original;
        }
    }

    private async Task StartAsync(HttpContext context)
    {
        if (!Current())
        {
            await _signIn.RefuseSsoAsync(context, UiSession.OidcMethod, "not_configured", "single sign-on with OpenID Connect is not turned on for this account.");
            return;
        }

        try
        {
            await context.ChallengeAsync(Scheme, new AuthenticationProperties { RedirectUri = UiSignIn.SafeReturnUrl(context.Request.Query["returnUrl"]) });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var (reason, message) = OidcFailures.Describe(e);
            await _signIn.RefuseSsoAsync(context, UiSession.OidcMethod, reason, message);
        }
    }

    private async Task CallbackAsync(HttpContext context)
    {
        if (!Current())
        {
            await _signIn.RefuseSsoAsync(context, UiSession.OidcMethod, "not_configured", "single sign-on with OpenID Connect is not turned on for this account.");
            return;
        }

        var handlers = context.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>();
        if (await handlers.GetHandlerAsync(context, Scheme) is not IAuthenticationRequestHandler handler || !await handler.HandleRequestAsync())
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
        }
    }

    /// <summary>Whether OIDC is on; drops the handler's options when the settings changed since they were built, so the next use builds them anew.</summary>
    private bool Current()
    {
        if (_identities.SsoSettingsOf(_signIn.Account) is not { Oidc.Enabled: true } settings)
        {
            return false;
        }

        if (Interlocked.Exchange(ref _configuredVersion, settings.Version) != settings.Version)
        {
            _services.GetRequiredService<IOptionsMonitorCache<OpenIdConnectOptions>>().TryRemove(Scheme);
        }

        return true;
    }

    /// <summary>The handler's options, built from the account's stored settings when the handler first needs them.</summary>
    private sealed class OidcOptions(IdentityRegistry identities, UiSignIn signIn, OidcClientSecret secrets, TimeProvider time) : IConfigureNamedOptions<OpenIdConnectOptions>
    {
        private static readonly string[] s_requiredScopes = ["openid", "email"];

        public void Configure(OpenIdConnectOptions options) => Configure(Options.DefaultName, options);

        public void Configure(string? name, OpenIdConnectOptions options)
        {
            if (name != Scheme)
            {
                return;
            }

            if (identities.SsoSettingsOf(signIn.Account)?.Oidc is not { } oidc)
            {
                return;
            }

            options.Authority = oidc.Issuer;
            options.RequireHttpsMetadata = !IsLoopback(oidc.Issuer); // a provider on this machine (development, tests) may speak plain HTTP
            options.ClientId = oidc.ClientId;
            options.ClientSecret = secrets.Read(signIn.Account, oidc);
            options.ResponseType = OpenIdConnectResponseType.Code;
            options.ResponseMode = OpenIdConnectResponseMode.Query;
            options.UsePkce = true;
            options.CallbackPath = CallbackPath;
            options.RemoteSignOutPath = CallbackPath + "/remote-sign-out"; // never routed to the handler: Bastion's sign-out is its own
            options.SignedOutCallbackPath = CallbackPath + "/signed-out";
            options.Scope.Clear();
            foreach (var scope in s_requiredScopes.Concat(oidc.Scopes).Distinct(StringComparer.Ordinal))
            {
                options.Scope.Add(scope);
            }

            // Claims as the provider named them, read from the signed ID token only (not the unsigned userinfo answer).
            options.MapInboundClaims = false;
            options.GetClaimsFromUserInfoEndpoint = false;
            options.ClaimActions.Remove("amr"); // the handler drops these by default; the MFA rule reads them
            options.ClaimActions.Remove("acr");
            options.SaveTokens = false;
            options.TimeProvider = time;
            options.TokenValidationParameters.ValidIssuers = [oidc.Issuer, oidc.Issuer.TrimEnd('/')];
            options.TokenValidationParameters.ValidAudience = oidc.ClientId;
            options.TokenValidationParameters.ValidateLifetime = true;
            options.TokenValidationParameters.RequireExpirationTime = true;
            options.TokenValidationParameters.RequireSignedTokens = true;
            options.TokenValidationParameters.ClockSkew = TimeSpan.FromMinutes(1);
            options.Events = new OpenIdConnectEvents
            {
                OnTicketReceived = async context =>
                {
                    context.HandleResponse();
                    await signIn.CompleteSsoAsync(context.HttpContext, IdentityOf(context.Principal!, oidc.GroupsClaim), context.ReturnUri).ConfigureAwait(false);
                },
                OnRemoteFailure = async context =>
                {
                    context.HandleResponse();
                    var (reason, message) = OidcFailures.Describe(context.Failure);
                    await signIn.RefuseSsoAsync(context.HttpContext, UiSession.OidcMethod, reason, message).ConfigureAwait(false);
                },
            };
        }

        private static SsoIdentity IdentityOf(ClaimsPrincipal principal, string? groupsClaim) => new(
            UiSession.OidcMethod,
            principal.FindFirst("email")?.Value,
            string.Equals(principal.FindFirst("email_verified")?.Value, "true", StringComparison.OrdinalIgnoreCase),
            groupsClaim is null ? null : principal.FindAll(groupsClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal),
            principal.FindAll("amr").Concat(principal.FindAll("acr")).Select(c => c.Value).ToList());

        private static bool IsLoopback(string issuer) =>
            Uri.TryCreate(issuer, UriKind.Absolute, out var uri)
            && (uri.IsLoopback || IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }
}
