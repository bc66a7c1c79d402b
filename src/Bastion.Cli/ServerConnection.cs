using System.CommandLine;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Bastion.Engine.Errors;
using Grpc.Net.Client;

namespace Bastion.Cli;

/// <summary>
/// The options of a command that talks to a running server (its address, an API key, how to trust its certificate),
/// and the connection they describe: the official Cloud Ops client for Temporal's API, a gRPC channel for Bastion's
/// extensions of it. Always TLS, as the Cloud Ops API is.
/// </summary>
internal sealed class ServerConnection
{
    public ServerConnection(bool recursive, string? addressDefault = "127.0.0.1:7233")
    {
        Address = new("--address")
        {
            Description = addressDefault is null ? "The server's gRPC address: talk to a running server (its API) instead of the database."
                : "The server's gRPC address (default: BASTION_ADDRESS, else 127.0.0.1:7233).",
            Recursive = recursive,
        };
        if (addressDefault is not null)
        {
            Address.DefaultValueFactory = _ => Environment.GetEnvironmentVariable("BASTION_ADDRESS") ?? addressDefault;
        }

        ApiKeyOption = new("--api-key") { Description = "API key (default: BASTION_API_KEY); prefer the variable, command lines are visible to other users.", Recursive = recursive };
        CaPath = new("--tls-ca-path") { Description = "PEM CA that signed the server certificate (default: the system's trusted roots).", Recursive = recursive };
        ServerName = new("--tls-server-name") { Description = "Server name to verify (the base domain) when it differs from the address host.", Recursive = recursive };
    }

    public Option<string?> Address { get; }

    public Option<string?> ApiKeyOption { get; }

    public Option<string?> CaPath { get; }

    public Option<string?> ServerName { get; }

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Address);
        command.Options.Add(ApiKeyOption);
        command.Options.Add(CaPath);
        command.Options.Add(ServerName);
    }

    /// <summary>The API key from the option or BASTION_API_KEY; INVALID_ARGUMENT (a usage error) without one.</summary>
    public string ApiKey(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var apiKey = parse.GetValue(ApiKeyOption) ?? Environment.GetEnvironmentVariable("BASTION_API_KEY");
        return string.IsNullOrEmpty(apiKey) ? throw ServiceException.InvalidArgument("An API key is needed: set BASTION_API_KEY or pass --api-key.") : apiKey;
    }

    /// <summary>The PEM of the CA to trust, if one was given.</summary>
    public async Task<byte[]?> CaAsync(ParseResult parse) =>
        parse.GetValue(CaPath) is { } path ? await File.ReadAllBytesAsync(path).ConfigureAwait(false) : null;

    /// <summary>A TLS channel to the server, every call carrying the API key as a bearer token.</summary>
    public async Task<GrpcChannel> ChannelAsync(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var address = parse.GetValue(Address)!;
        var apiKey = ApiKey(parse);
        var ssl = new SslClientAuthenticationOptions { EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13 };
        if (parse.GetValue(ServerName) is { } name)
        {
            ssl.TargetHost = name;
        }

        if (await CaAsync(parse).ConfigureAwait(false) is { } pem)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPem(System.Text.Encoding.ASCII.GetString(pem));
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.AddRange(roots);
            ssl.CertificateChainPolicy = policy;
        }

        var credentials = Grpc.Core.CallCredentials.FromInterceptor((_, metadata) =>
        {
            metadata.Add("authorization", "Bearer " + apiKey);
            return Task.CompletedTask;
        });
        return GrpcChannel.ForAddress("https://" + address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = ssl, EnableMultipleHttp2Connections = false },
            Credentials = Grpc.Core.ChannelCredentials.Create(Grpc.Core.ChannelCredentials.SecureSsl, credentials),
            DisposeHttpClient = true,
        });
    }
}
