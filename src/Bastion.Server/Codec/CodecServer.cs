using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bastion.Codec;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Temporalio.Api.Common.V1;

namespace Bastion.Server.Codec;

/// <summary>
/// The codec server of the security model: <c>POST /encode</c> and <c>POST /decode</c> with body
/// <c>{"payloads":[{"metadata":{…base64…},"data":"base64"}]}</c>, the <c>X-Namespace</c> header, an optional bearer
/// token, and CORS for the UI's origin. It holds the payload keys; the Bastion server never does.
/// </summary>
public sealed class CodecServer : IAsyncDisposable
{
    /// <summary>The request headers the UI sends, allowed by CORS.</summary>
    public static readonly string[] AllowedHeaders = ["X-Namespace", "Content-Type", "Authorization", "Authorization-Extras"];
    private readonly WebApplication _app;

    private CodecServer(WebApplication app, string address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The base URL, e.g. <c>http://127.0.0.1:8081</c>.</summary>
    public string Address { get; }

    public static async Task<CodecServer> StartAsync(CodecServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!IPAddress.TryParse(options.Ip, out var ip))
        {
            throw new ArgumentException($"--ip {options.Ip} is not an IP address.");
        }

        var tls = options.TlsCertFile != null && options.TlsKeyFile != null;
        if (!tls && !IPAddress.IsLoopback(ip))
        {
            throw new ArgumentException($"Refusing to serve the codec server in plaintext on {options.Ip}: give --tls-cert-file and --tls-key-file, or bind loopback.");
        }

        var builder = ServerHost.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy
            .WithOrigins([.. options.AllowedOrigins])
            .WithMethods("POST")
            .WithHeaders(AllowedHeaders)
            .AllowCredentials())); // the UI sends credentials when the namespace says so; origins are explicit, never *
        ListenOptions? listener = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(ip, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                if (tls)
                {
                    listen.UseHttps(X509Certificate2.CreateFromPemFile(options.TlsCertFile!, options.TlsKeyFile));
                }

                listener = listen;
            });
            kestrel.Limits.MaxRequestBodySize = 8 * 1024 * 1024;
        });

        var app = builder.Build();
        app.UseCors();
        var codec = new AesGcmPayloadCodec(options.Keys);
        app.MapPost("/encode", context => HandleAsync(context, options.Token, codec.Encode));
        app.MapPost("/decode", context => HandleAsync(context, options.Token, codec.Decode));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new CodecServer(app, $"{(tls ? "https" : "http")}://{options.Ip}:{listener!.IPEndPoint!.Port}");
    }

    private static async Task HandleAsync(HttpContext context, string? token, Func<Payload, Payload> transform)
    {
        if (token != null && !Authorized(context.Request.Headers.Authorization.ToString(), token))
        {
            await RespondAsync(context, StatusCodes.Status401Unauthorized, "A valid bearer token is required.").ConfigureAwait(false);
            return;
        }

        if (string.IsNullOrEmpty(context.Request.Headers["X-Namespace"]))
        {
            await RespondAsync(context, StatusCodes.Status400BadRequest, "The X-Namespace header is required.").ConfigureAwait(false);
            return;
        }

        Payloads payloads;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            try
            {
                payloads = JsonParser.Default.Parse<Payloads>(await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false));
            }
            catch (InvalidProtocolBufferException)
            {
                await RespondAsync(context, StatusCodes.Status400BadRequest, "The body must be {\"payloads\":[{\"metadata\":{...},\"data\":\"...\"}]}.").ConfigureAwait(false);
                return;
            }
            catch (InvalidJsonException)
            {
                await RespondAsync(context, StatusCodes.Status400BadRequest, "The body is not JSON.").ConfigureAwait(false);
                return;
            }
        }

        Payloads result;
        try
        {
            result = new Payloads { Payloads_ = { payloads.Payloads_.Select(transform) } };
        }
        catch (InvalidOperationException e)
        {
            await RespondAsync(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonFormatter.Default.Format(result), context.RequestAborted).ConfigureAwait(false);
    }

    private static bool Authorized(string header, string token)
    {
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Hashing first makes the comparison constant-time whatever the lengths.
        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim())),
            SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    private static Task RespondAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message, context.RequestAborted);
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
