using System.CommandLine;
using Bastion.Api.Cloud.V1;
using Bastion.Engine.Errors;
using Bastion.Security.Sso;
using Grpc.Core;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion sso show|set</c> and <c>bastion sso oidc|saml set|show|disable</c>: an account's single sign-on for people,
/// in one of two ways. With <c>--address</c>, through a running server's SSO API (<c>bastion.cloud.v1.SsoService</c>,
/// Bastion's extension of the Cloud Ops API) with an account admin's or owner's API key, for the key's account. Without
/// it, on the server's database directly (<c>--account</c> names the account; whoever runs the deployment), as an
/// account event by the OS user. Both apply the same rules (<see cref="SsoSettingsMessages"/>) and print the same. A
/// running server picks a change up within seconds; turning a provider off ends its sessions. The client secret is
/// never printed: only where the server reads it, or — given with <c>--client-secret-stdin</c> through the API — that
/// the server keeps it sealed.
/// </summary>
internal static class SsoCommand
{
    public static Command Create()
    {
        var command = new Command("sso", "Single sign-on for people to the web UI: the account's identity provider and rules.");
        command.Subcommands.Add(Leaf("show", "Show the account's single sign-on settings.", [], (_, target) => target.GetAsync(), Shown.All));
        command.Subcommands.Add(RulesCommand());
        var oidc = new Command("oidc", "The account's OpenID Connect provider (authorization code with PKCE).");
        oidc.Subcommands.Add(OidcSetCommand());
        oidc.Subcommands.Add(Leaf("show", "Show the account's OpenID Connect provider.", [], (_, target) => target.GetAsync(), Shown.Oidc));
        oidc.Subcommands.Add(DisableCommand(SsoProtocol.Oidc));
        command.Subcommands.Add(oidc);
        var saml = new Command("saml", "The account's SAML 2.0 identity provider (Bastion the service provider).");
        saml.Subcommands.Add(SamlSetCommand());
        saml.Subcommands.Add(Leaf("show", "Show the account's SAML provider.", [], (_, target) => target.GetAsync(), Shown.Saml));
        saml.Subcommands.Add(DisableCommand(SsoProtocol.Saml));
        command.Subcommands.Add(saml);
        return command;
    }

    private enum Shown
    {
        All,
        Oidc,
        Saml,
    }

    private static Command RulesCommand()
    {
        var jit = OnOff("--jit-users", "Create a user (no role, no access) for a verified e-mail the account has none for.");
        var peopleKeys = OnOff("--people-api-key-sign-in", "Let people sign in to the web UI with API keys (off: service accounts and owners only).");
        var mfa = new Option<string?>("--require-mfa") { Description = "Who must sign in with multiple factors (amr/acr): off, owners (default) or all." };
        mfa.AcceptOnlyFromAmong("off", "owners", "all");
        var mfaValues = new Option<string[]>("--mfa-value") { Description = "An amr or acr value that counts as multi-factor (repeatable; default mfa).", AllowMultipleArgumentsPerToken = false };
        return Leaf("set", "Change the account's single sign-on rules; options not given stay as they are.", [jit, peopleKeys, mfa, mfaValues], (parse, target) =>
        {
            var request = new UpdateSsoRulesRequest
            {
                RequireMfa = parse.GetValue(mfa) switch { "off" => MfaRule.Off, "all" => MfaRule.All, "owners" => MfaRule.Owners, _ => MfaRule.Unspecified },
                MfaValues = { parse.GetValue(mfaValues) ?? [] },
            };
            if (parse.GetValue(jit) is { } j)
            {
                request.JitUsers = j == "on";
            }

            if (parse.GetValue(peopleKeys) is { } p)
            {
                request.PeopleApiKeySignIn = p == "on";
            }

            return target.UpdateRulesAsync(request);
        }, Shown.All);
    }

    private static Command OidcSetCommand()
    {
        var issuer = new Option<string>("--issuer") { Description = "The provider's issuer URL (HTTPS; HTTP only on a loopback address).", Required = true };
        var clientId = new Option<string>("--client-id") { Description = "Bastion's client id at the provider.", Required = true };
        var secretFile = new Option<string?>("--client-secret-file") { Description = "Absolute path, on the server's host, of a file holding the client secret." };
        var secretEnv = new Option<string?>("--client-secret-env") { Description = "Environment variable of the server holding the client secret." };
        var secretStdin = new Option<bool>("--client-secret-stdin") { Description = "Read the client secret from standard input and give it to the server (with --address), which keeps it encrypted at rest." };
        var groupsClaim = new Option<string?>("--groups-claim") { Description = "The ID token claim listing the person's groups (none: groups are not read)." };
        var scopes = new Option<string[]>("--scope") { Description = "A scope to ask for besides openid and email (repeatable), e.g. groups." };
        return Leaf("set", "Set up (and turn on) the account's OpenID Connect provider.", [issuer, clientId, secretFile, secretEnv, secretStdin, groupsClaim, scopes], async (parse, target) =>
        {
            var request = new SetOidcProviderRequest
            {
                Issuer = parse.GetValue(issuer)!,
                ClientId = parse.GetValue(clientId)!,
                ClientSecretFile = parse.GetValue(secretFile) ?? string.Empty,
                ClientSecretEnv = parse.GetValue(secretEnv) ?? string.Empty,
                GroupsClaim = parse.GetValue(groupsClaim) ?? string.Empty,
                Scopes = { parse.GetValue(scopes) ?? [] },
            };
            if (parse.GetValue(secretStdin))
            {
                if (!target.Remote)
                {
                    throw ServiceException.InvalidArgument("--client-secret-stdin needs --address: the server seals the secret with its key ring. On the database, give --client-secret-file or --client-secret-env.");
                }

                request.ClientSecret = (await Console.In.ReadLineAsync().ConfigureAwait(false))?.Trim() is { Length: > 0 } secret
                    ? secret
                    : throw ServiceException.InvalidArgument("--client-secret-stdin: standard input held no secret.");
            }

            return await target.SetOidcAsync(request).ConfigureAwait(false);
        }, Shown.Oidc);
    }

    private static Command SamlSetCommand()
    {
        var metadata = new Option<string>("--idp-metadata") { Description = "The provider's metadata: an absolute file path on the server's host, or an https URL.", Required = true };
        var entityId = new Option<string>("--sp-entity-id") { Description = "Bastion's entity id at the provider (the audience of its assertions).", Required = true };
        var email = new Option<string?>("--email-attribute") { Description = "The attribute holding the e-mail (default: the NameID)." };
        var groups = new Option<string?>("--groups-attribute") { Description = "The attribute listing the person's groups (none: groups are not read)." };
        return Leaf("set", "Set up (and turn on) the account's SAML 2.0 identity provider.", [metadata, entityId, email, groups], async (parse, target) =>
        {
            var settings = await target.SetSamlAsync(new SetSamlProviderRequest
            {
                IdpMetadata = parse.GetValue(metadata)!,
                SpEntityId = parse.GetValue(entityId)!,
                EmailAttribute = parse.GetValue(email) ?? string.Empty,
                GroupsAttribute = parse.GetValue(groups) ?? string.Empty,
            }).ConfigureAwait(false);
            Console.WriteLine("Give the provider Bastion's metadata: https://<the web UI's host:port>/auth/saml/metadata");
            return settings;
        }, Shown.Saml);
    }

    private static Command DisableCommand(SsoProtocol protocol) => Leaf(
        "disable",
        $"Turn the account's {(protocol == SsoProtocol.Saml ? "SAML" : "OpenID Connect")} sign-in off (its settings stay); its sessions end.",
        [],
        (_, target) => target.DisableAsync(new DisableSsoProviderRequest { Protocol = protocol }),
        protocol == SsoProtocol.Saml ? Shown.Saml : Shown.Oidc);

    /// <summary>A command that changes or reads the settings through <see cref="SsoTarget"/> (the API or the database) and prints them.</summary>
    private static Command Leaf(string name, string description, Option[] options, Func<ParseResult, SsoTarget, Task<SsoSettings?>> action, Shown shown)
    {
        var database = new DatabaseOptions();
        var connection = new ServerConnection(recursive: false, addressDefault: null);
        var account = new Option<string?>("--account") { Description = "The account (as the server's --account), on the database; with --address, the API key's account." };
        var command = new Command(name, description) { account };
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        database.AddTo(command);
        connection.AddTo(command);
        command.SetAction(async (parse, _) =>
        {
            if (parse.GetValue(connection.Address) is null)
            {
                if (parse.GetValue(account) is not { Length: > 0 } named)
                {
                    await Console.Error.WriteLineAsync("Option '--account' is required (or --address, to go through a running server's API).").ConfigureAwait(false);
                    return 2;
                }

                return await DatabaseFile.RunAsync(database, parse, async (_, identities) =>
                    Print(await action(parse, SsoTarget.OnDatabase(identities, named)).ConfigureAwait(false), shown)).ConfigureAwait(false);
            }

            return await RemoteAsync(parse, connection, async target => Print(await action(parse, target).ConfigureAwait(false), shown)).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RemoteAsync(ParseResult parse, ServerConnection connection, Func<SsoTarget, Task> run)
    {
        try
        {
            using var channel = await connection.ChannelAsync(parse).ConfigureAwait(false);
            await run(SsoTarget.Through(channel.CreateCallInvoker())).ConfigureAwait(false);
            return 0;
        }
        catch (ServiceException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return e.Kind == ErrorKind.InvalidArgument ? 2 : 1;
        }
        catch (RpcException e)
        {
            await Console.Error.WriteLineAsync($"{e.StatusCode}: {e.Status.Detail}").ConfigureAwait(false);
            return e.StatusCode == StatusCode.InvalidArgument ? 2 : 1;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            await Console.Error.WriteLineAsync($"{parse.GetValue(connection.Address)}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static Option<string?> OnOff(string name, string description)
    {
        var option = new Option<string?>(name) { Description = description + " on or off." };
        option.AcceptOnlyFromAmong("on", "off");
        return option;
    }

    private static void Print(SsoSettings? settings, Shown shown)
    {
        if (shown != Shown.Oidc)
        {
            PrintSaml(settings?.Saml);
            if (shown == Shown.Saml)
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
            Console.WriteLine("  client secret: " + (oidc.ClientSecretStored ? "kept by the server (encrypted at rest; never shown)"
                : oidc.ClientSecretFile is { Length: > 0 } f ? $"file {f}"
                : oidc.ClientSecretEnv is { Length: > 0 } e ? $"environment variable {e}"
                : "none (public client)"));
            Console.WriteLine($"  groups claim: {(oidc.GroupsClaim.Length > 0 ? oidc.GroupsClaim : "(none: groups not read)")}");
            Console.WriteLine($"  extra scopes: {(oidc.Scopes.Count == 0 ? "(none)" : string.Join(" ", oidc.Scopes))}");
        }

        if (shown == Shown.Oidc)
        {
            return;
        }

        var rules = settings ?? SsoSettingsMessages.ToProto(SsoSettingsMessages.Empty(string.Empty));
        Console.WriteLine($"people api-key sign-in: {(rules.PeopleApiKeySignIn ? "on" : "off")}");
        Console.WriteLine($"just-in-time users: {(rules.JitUsers ? "on" : "off")}");
        Console.WriteLine($"require mfa: {rules.RequireMfa.ToString().ToLowerInvariant()} (values: {string.Join(", ", rules.MfaValues)})");
    }

    private static void PrintSaml(SamlProvider? saml)
    {
        if (saml is null)
        {
            Console.WriteLine("saml: not set up");
            return;
        }

        Console.WriteLine($"saml: {(saml.Enabled ? "on" : "off")}");
        Console.WriteLine($"  idp metadata: {saml.IdpMetadata}");
        Console.WriteLine($"  sp entity id: {saml.SpEntityId}");
        Console.WriteLine($"  e-mail: {(saml.EmailAttribute.Length > 0 ? saml.EmailAttribute : "(the NameID)")}");
        Console.WriteLine($"  groups attribute: {(saml.GroupsAttribute.Length > 0 ? saml.GroupsAttribute : "(none: groups not read)")}");
    }
}
