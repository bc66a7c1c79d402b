using System.CommandLine;
using System.Net;
using Bastion.Engine.Errors;
using Bastion.Security.Identity;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion sso show|set</c> and <c>bastion sso oidc set|show|disable</c>: an account's single sign-on for people, on
/// the server's database (like operator grants: only whoever runs the deployment decides which identity provider may
/// vouch for the account's people; Temporal Cloud's API has no such message). A running server picks the change up
/// within seconds; turning OIDC off ends its sessions. Every change is an audited account event. The client secret is
/// never given here: the settings name the file or environment variable on the server's host that holds it.
/// </summary>
internal static class SsoCommand
{
    public static Command Create()
    {
        var command = new Command("sso", "Single sign-on for people to the web UI: the account's identity provider and rules.");
        command.Subcommands.Add(ShowCommand());
        command.Subcommands.Add(SetCommand());
        var oidc = new Command("oidc", "The account's OpenID Connect provider (authorization code with PKCE).");
        oidc.Subcommands.Add(OidcSetCommand());
        oidc.Subcommands.Add(ShowCommand(oidcOnly: true));
        oidc.Subcommands.Add(DisableCommand(saml: false));
        command.Subcommands.Add(oidc);
        var saml = new Command("saml", "The account's SAML 2.0 identity provider (Bastion the service provider).");
        saml.Subcommands.Add(SamlSetCommand());
        saml.Subcommands.Add(ShowCommand(oidcOnly: true, saml: true));
        saml.Subcommands.Add(DisableCommand(saml: true));
        command.Subcommands.Add(saml);
        return command;
    }

    private static Option<string> AccountOption() => new("--account") { Description = "The account (as the server's --account).", Required = true };

    private static Command ShowCommand(bool oidcOnly = false, bool saml = false)
    {
        var database = new DatabaseOptions();
        var account = AccountOption();
        var command = new Command("show", !oidcOnly ? "Show the account's single sign-on settings." : saml ? "Show the account's SAML provider." : "Show the account's OpenID Connect provider.") { account };
        database.AddTo(command);
        command.SetAction((parse, _) => DatabaseFile.RunAsync(database, parse, (_, identities) =>
        {
            Print(identities.SsoSettingsOf(parse.GetValue(account)!), oidcOnly, saml);
            return Task.CompletedTask;
        }));
        return command;
    }

    private static Command SetCommand()
    {
        var database = new DatabaseOptions();
        var account = AccountOption();
        var jit = OnOff("--jit-users", "Create a user (no role, no access) for a verified e-mail the account has none for.");
        var peopleKeys = OnOff("--people-api-key-sign-in", "Let people sign in to the web UI with API keys (off: service accounts and owners only).");
        var mfa = new Option<string?>("--require-mfa") { Description = "Who must sign in with multiple factors (amr/acr): off, owners (default) or all." };
        mfa.AcceptOnlyFromAmong("off", "owners", "all");
        var mfaValues = new Option<string[]>("--mfa-value") { Description = "An amr or acr value that counts as multi-factor (repeatable; default mfa).", AllowMultipleArgumentsPerToken = false };
        var command = new Command("set", "Change the account's single sign-on rules; options not given stay as they are.") { account, jit, peopleKeys, mfa, mfaValues };
        database.AddTo(command);
        command.SetAction((parse, _) => DatabaseFile.RunAsync(database, parse, async (_, identities) =>
        {
            var values = parse.GetValue(mfaValues) ?? [];
            var settings = await identities.SetSsoSettingsAsync(parse.GetValue(account)!, current =>
            {
                var next = current ?? Empty(parse.GetValue(account)!);
                return next with
                {
                    JitUsers = parse.GetValue(jit) is { } j ? j == "on" : next.JitUsers,
                    PeopleApiKeySignIn = parse.GetValue(peopleKeys) is { } p ? p == "on" : next.PeopleApiKeySignIn,
                    RequireMfa = parse.GetValue(mfa) switch { "off" => MfaRule.Off, "all" => MfaRule.All, "owners" => MfaRule.Owners, _ => next.RequireMfa },
                    MfaValues = values.Length > 0 ? values.Select(v => v.Trim()).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).ToList() : next.MfaValues,
                };
            }).ConfigureAwait(false);
            Print(settings, oidcOnly: false);
        }));
        return command;
    }

    private static Command OidcSetCommand()
    {
        var database = new DatabaseOptions();
        var account = AccountOption();
        var issuer = new Option<string>("--issuer") { Description = "The provider's issuer URL (HTTPS; HTTP only on a loopback address).", Required = true };
        var clientId = new Option<string>("--client-id") { Description = "Bastion's client id at the provider.", Required = true };
        var secretFile = new Option<string?>("--client-secret-file") { Description = "Absolute path, on the server's host, of a file holding the client secret." };
        var secretEnv = new Option<string?>("--client-secret-env") { Description = "Environment variable of the server holding the client secret." };
        var groupsClaim = new Option<string?>("--groups-claim") { Description = "The ID token claim listing the person's groups (none: groups are not read)." };
        var scopes = new Option<string[]>("--scope") { Description = "A scope to ask for besides openid and email (repeatable), e.g. groups." };
        var command = new Command("set", "Set up (and turn on) the account's OpenID Connect provider.") { account, issuer, clientId, secretFile, secretEnv, groupsClaim, scopes };
        database.AddTo(command);
        command.SetAction((parse, _) => DatabaseFile.RunAsync(database, parse, async (_, identities) =>
        {
            var oidc = new OidcSettings(
                ValidIssuer(parse.GetValue(issuer)!),
                parse.GetValue(clientId)!.Trim() is { Length: > 0 } id ? id : throw ServiceException.InvalidArgument("--client-id must not be empty."),
                parse.GetValue(secretFile) is { } file ? (Path.IsPathFullyQualified(file) ? file : throw ServiceException.InvalidArgument($"--client-secret-file {file} must be an absolute path (the server reads it).")) : null,
                parse.GetValue(secretEnv) is { } variable ? (variable.Trim().Length > 0 ? variable.Trim() : throw ServiceException.InvalidArgument("--client-secret-env must name a variable.")) : null,
                parse.GetValue(groupsClaim) is { Length: > 0 } claim ? claim : null,
                (parse.GetValue(scopes) ?? []).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToList(),
                Enabled: true);
            if (oidc.ClientSecretFile is not null && oidc.ClientSecretEnvironment is not null)
            {
                throw ServiceException.InvalidArgument("Give --client-secret-file or --client-secret-env, not both.");
            }

            var settings = await identities.SetSsoSettingsAsync(parse.GetValue(account)!, current => (current ?? Empty(parse.GetValue(account)!)) with { Oidc = oidc }).ConfigureAwait(false);
            Print(settings, oidcOnly: true);

        }));
        return command;
    }

    private static Command SamlSetCommand()
    {
        var database = new DatabaseOptions();
        var account = AccountOption();
        var metadata = new Option<string>("--idp-metadata") { Description = "The provider's metadata: an absolute file path on the server's host, or an https URL.", Required = true };
        var entityId = new Option<string>("--sp-entity-id") { Description = "Bastion's entity id at the provider (the audience of its assertions).", Required = true };
        var email = new Option<string?>("--email-attribute") { Description = "The attribute holding the e-mail (default: the NameID)." };
        var groups = new Option<string?>("--groups-attribute") { Description = "The attribute listing the person's groups (none: groups are not read)." };
        var command = new Command("set", "Set up (and turn on) the account's SAML 2.0 identity provider.") { account, metadata, entityId, email, groups };
        database.AddTo(command);
        command.SetAction((parse, _) => DatabaseFile.RunAsync(database, parse, async (_, identities) =>
        {
            var source = parse.GetValue(metadata)!.Trim();
            if (Uri.TryCreate(source, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                ValidIssuer(source, "--idp-metadata");
            }
            else if (!Path.IsPathFullyQualified(source))
            {
                throw ServiceException.InvalidArgument($"--idp-metadata {ServiceException.Quote(source, 200)} must be an https URL or an absolute file path (the server reads it).");
            }

            var saml = new SamlSettings(
                source,
                parse.GetValue(entityId)!.Trim() is { Length: > 0 } id ? id : throw ServiceException.InvalidArgument("--sp-entity-id must not be empty."),
                parse.GetValue(email) is { Length: > 0 } e ? e : null,
                parse.GetValue(groups) is { Length: > 0 } g ? g : null,
                Enabled: true);
            var settings = await identities.SetSsoSettingsAsync(parse.GetValue(account)!, current => (current ?? Empty(parse.GetValue(account)!)) with { Saml = saml }).ConfigureAwait(false);
            Print(settings, oidcOnly: true, saml: true);
            Console.WriteLine("Give the provider Bastion's metadata: https://<the web UI's host:port>/auth/saml/metadata");
        }));
        return command;
    }

    private static Command DisableCommand(bool saml)
    {
        var database = new DatabaseOptions();
        var account = AccountOption();
        var protocol = saml ? "SAML" : "OpenID Connect";
        var command = new Command("disable", $"Turn the account's {protocol} sign-in off (its settings stay); its sessions end.") { account };
        database.AddTo(command);
        command.SetAction((parse, _) => DatabaseFile.RunAsync(database, parse, async (_, identities) =>
        {
            var name = parse.GetValue(account)!;
            var current = identities.SsoSettingsOf(name);
            if (saml ? current?.Saml is null : current?.Oidc is null)
            {
                throw ServiceException.NotFound($"Account {name} has no {protocol} provider set up.");
            }

            var settings = await identities.SetSsoSettingsAsync(name, s => saml ? s! with { Saml = s.Saml! with { Enabled = false } } : s! with { Oidc = s.Oidc! with { Enabled = false } }).ConfigureAwait(false);
            Print(settings, oidcOnly: true, saml);
        }));
        return command;
    }

    private static Option<string?> OnOff(string name, string description)
    {
        var option = new Option<string?>(name) { Description = description + " on or off." };
        option.AcceptOnlyFromAmong("on", "off");
        return option;
    }

    private static SsoSettingsEntry Empty(string account) => new() { Id = SsoSettingsEntry.IdOf(account), Account = account };

    private static string ValidIssuer(string issuer, string option = "--issuer")
    {
        if (!Uri.TryCreate(issuer.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw ServiceException.InvalidArgument($"{option} {ServiceException.Quote(issuer, 200)} must be an absolute https URL without query or fragment.");
        }

        var loopback = uri.IsLoopback || IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip);
        return uri.Scheme == "https" || loopback
            ? issuer.Trim()
            : throw ServiceException.InvalidArgument($"{option} {issuer} must use https (plain http only for a provider on a loopback address).");
    }

    private static void Print(SsoSettingsEntry? settings, bool oidcOnly, bool saml = false)
    {
        if (!oidcOnly || saml)
        {
            PrintSaml(settings?.Saml);
            if (oidcOnly)
            {
                return;
            }
        }

        var oidc = settings?.Oidc;
        if (oidc is null)
        {
            Console.WriteLine("oidc: not set up");
        }
        else
        {
            Console.WriteLine($"oidc: {(oidc.Enabled ? "on" : "off")}");
            Console.WriteLine($"  issuer: {oidc.Issuer}");
            Console.WriteLine($"  client id: {oidc.ClientId}");
            Console.WriteLine("  client secret: " + (oidc.ClientSecretFile is { } f ? $"file {f}" : oidc.ClientSecretEnvironment is { } e ? $"environment variable {e}" : "none (public client)"));
            Console.WriteLine($"  groups claim: {oidc.GroupsClaim ?? "(none: groups not read)"}");
            Console.WriteLine($"  extra scopes: {(oidc.Scopes.Count == 0 ? "(none)" : string.Join(" ", oidc.Scopes))}");
        }

        if (oidcOnly)
        {
            return;
        }

        var rules = settings ?? new SsoSettingsEntry { Id = string.Empty, Account = string.Empty };
        Console.WriteLine($"people api-key sign-in: {(rules.PeopleApiKeySignIn ? "on" : "off")}");
        Console.WriteLine($"just-in-time users: {(rules.JitUsers ? "on" : "off")}");
        Console.WriteLine($"require mfa: {rules.RequireMfa.ToString().ToLowerInvariant()} (values: {string.Join(", ", rules.MfaValues)})");
    }

    private static void PrintSaml(SamlSettings? saml)
    {
        if (saml is null)
        {
            Console.WriteLine("saml: not set up");
            return;
        }

        Console.WriteLine($"saml: {(saml.Enabled ? "on" : "off")}");
        Console.WriteLine($"  idp metadata: {saml.IdpMetadata}");
        Console.WriteLine($"  sp entity id: {saml.SpEntityId}");
        Console.WriteLine($"  e-mail: {saml.EmailAttribute ?? "(the NameID)"}");
        Console.WriteLine($"  groups attribute: {saml.GroupsAttribute ?? "(none: groups not read)"}");
    }
}
