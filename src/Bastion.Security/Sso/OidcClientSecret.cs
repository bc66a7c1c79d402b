using Bastion.Engine.Errors;
using Bastion.Security.Identity;
using Bastion.Storage;

namespace Bastion.Security.Sso;

/// <summary>
/// The OpenID Connect client secret: read on this host from where the settings say (a file, or an environment variable)
/// when the sign-in's options are built, or — given through the API — kept in the database sealed with the key ring
/// (<see cref="RecordIdentities.Sealed"/>), so it is encrypted at rest and every node of a cluster finds it. Write-only:
/// never returned by the API, never logged, never in an audit record or an error.
/// </summary>
public sealed class OidcClientSecret(ISignInStore store, IRecordCodec codec)
{
    private const string Prefix = "oidc-client-secret/";

    /// <summary>Keeps <paramref name="secret"/> for <paramref name="account"/>, sealed; refused when the database is not encrypted at rest.</summary>
    public Task StoreAsync(string account, string secret)
    {
        if (codec is PlainRecordCodec)
        {
            throw new ServiceException(
                ErrorKind.FailedPrecondition,
                "This database is not encrypted at rest, so it cannot hold a client secret: give client_secret_file or client_secret_env (read on the server's host) instead.");
        }

        var name = NameOf(account);
        return store.PutSealedAsync(name, codec.EncodeText(RecordIdentities.Sealed(name), secret), CancellationToken.None);
    }

    /// <summary>Drops the secret kept for <paramref name="account"/>, if any (the provider now reads it elsewhere, or is public).</summary>
    public Task ForgetAsync(string account) => store.DeleteSealedAsync(NameOf(account), CancellationToken.None);

    /// <summary>The secret, or null for a public client (PKCE only); a source that cannot be read fails the sign-in (not naming the secret).</summary>
    public string? Read(string account, OidcSettings oidc)
    {
        ArgumentNullException.ThrowIfNull(oidc);
        if (oidc.ClientSecretStored)
        {
            var name = NameOf(account);
            var stored = store.ListSealedAsync(name, CancellationToken.None).GetAwaiter().GetResult().FirstOrDefault(v => v.Name == name)
                ?? throw new InvalidOperationException($"The OpenID Connect client secret of account {account} is not in the database: set the provider again.");
            return codec.DecodeText(RecordIdentities.Sealed(name), stored.Value);
        }

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

    private static string NameOf(string account) => Prefix + account;
}
