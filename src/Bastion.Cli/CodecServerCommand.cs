using System.CommandLine;
using Bastion.Codec;
using Bastion.Server.Codec;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion codec-server</c>: serves /encode and /decode for the UI with a payload key ring (the keys of
/// <see cref="AesGcmPayloadCodec"/> that the applications use); <c>codec-server add-key</c> creates or rotates that ring.
/// </summary>
internal static class CodecServerCommand
{
    public const string TokenVariable = "BASTION_CODEC_TOKEN";

    public static Command Create()
    {
        var keyFile = new Option<string>("--key-file") { Description = "The payload key ring (JSON), as add-key writes it.", Required = true };
        var ip = new Option<string>("--ip") { Description = "Address to bind (a non-loopback address needs TLS).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "Port.", DefaultValueFactory = _ => 8081 };
        var tokenFile = new Option<string?>("--token-file") { Description = $"File holding the bearer token callers must send (or set {TokenVariable}); without either, no token is checked." };
        var origins = new Option<string[]>("--cors-origin") { Description = "The UI's origin, allowed by CORS (repeatable), e.g. https://temporal.example.com.", AllowMultipleArgumentsPerToken = false };
        var certFile = new Option<string?>("--tls-cert-file") { Description = "Certificate (PEM) for https." };
        var certKey = new Option<string?>("--tls-key-file") { Description = "Its private key (PEM)." };
        var command = new Command("codec-server", "Serve POST /encode and /decode (Temporal's codec-server protocol) with a payload key ring.")
        {
            keyFile, ip, port, tokenFile, origins, certFile, certKey,
        };
        command.Subcommands.Add(AddKeyCommand());
        command.SetAction(async (parse, cancellationToken) =>
        {
            CodecServer server;
            try
            {
                var options = new CodecServerOptions
                {
                    Keys = EncryptionKeyRing.FromJson(await File.ReadAllTextAsync(parse.GetValue(keyFile)!, cancellationToken).ConfigureAwait(false)),
                    Ip = parse.GetValue(ip)!,
                    Port = parse.GetValue(port),
                    Token = parse.GetValue(tokenFile) is { } file
                        ? (await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false)).Trim()
                        : Environment.GetEnvironmentVariable(TokenVariable),
                    TlsCertFile = parse.GetValue(certFile),
                    TlsKeyFile = parse.GetValue(certKey),
                };
                foreach (var origin in parse.GetValue(origins) ?? [])
                {
                    options.AllowedOrigins.Add(origin);
                }

                server = await CodecServer.StartAsync(options, cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"Bastion codec server on {server.Address} (POST /encode, /decode; current key {options.Keys.CurrentKeyId}; token {(options.Token is null ? "not required" : "required")})");
            }
            catch (Exception e) when (e is ArgumentException or IOException or FormatException or UnauthorizedAccessException or System.Text.Json.JsonException)
            {
                await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
                return 2;
            }

            await using (server.ConfigureAwait(false))
            {
                await server.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }

    private static Command AddKeyCommand()
    {
        var keyFile = new Option<string>("--key-file") { Description = "The key ring file; created (mode 0600) when missing.", Required = true };
        var keyId = new Option<string>("--key-id") { Description = "Id of the new key, written into every payload it encrypts.", Required = true };
        var command = new Command("add-key", "Add a new random payload key to a key ring and make it current (old keys still decrypt).") { keyFile, keyId };
        command.SetAction(parse =>
        {
            var file = parse.GetValue(keyFile)!;
            try
            {
                var ring = File.Exists(file) ? EncryptionKeyRing.FromJson(File.ReadAllText(file)).WithNewKey(parse.GetValue(keyId)!) : EncryptionKeyRing.Generate(parse.GetValue(keyId)!);
                var temp = file + ".tmp";
                var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using (var writer = new StreamWriter(temp, System.Text.Encoding.UTF8, options))
                {
                    writer.Write(ring.ToJson());
                }

                File.Move(temp, file, overwrite: true);
                Console.WriteLine($"{file}: key {ring.CurrentKeyId} is current; keys {string.Join(", ", ring.KeyIds.Order(StringComparer.Ordinal))}.");
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or FormatException or UnauthorizedAccessException or System.Text.Json.JsonException)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
        });
        return command;
    }
}
