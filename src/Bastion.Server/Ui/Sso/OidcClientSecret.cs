using Bastion.Security.Identity;

namespace Bastion.Server.Ui.Sso;

/// <summary>
/// The OpenID Connect client secret, read on this host from where the settings say (a file, or an environment
/// variable) when the sign-in's options are built; never stored in the database, never logged, never in an error.
/// </summary>
internal static class OidcClientSecret
{
    /// <summary>The secret, or null for a public client (PKCE only); a source that cannot be read fails the sign-in (not naming the secret).</summary>
    public static string? Read(OidcSettings oidc)
    {
        ArgumentNullException.ThrowIfNull(oidc);
        if (oidc.ClientSecretFile is { } file)
        {
            try
            {
                return File.ReadAllText(file).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"The OpenID Connect client secret file {file} cannot be read: {e.GetType().Name}.");
            }
        }

        if (oidc.ClientSecretEnvironment is { } variable)
        {
            return Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
                ? value.Trim()
                : throw new InvalidOperationException($"The environment variable {variable}, which should hold the OpenID Connect client secret, is not set.");
        }

        return null;
    }
}
