using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Bastion.Wire.Http;

/// <summary>
/// The <see cref="ServerCallContext"/> of an HTTP API call, so that the security pipeline and the handlers see an
/// HTTP call exactly as they see a gRPC one. <c>GetHttpContext()</c> finds the request under the user-state key that
/// Grpc.AspNetCore reads (<c>__HttpContext</c>); the call is canceled when the client goes away.
/// </summary>
internal sealed class HttpCallContext : ServerCallContext
{
    /// <summary>HTTP headers that become call metadata, besides <c>Grpc-Metadata-*</c> (grpc-gateway's convention).</summary>
    private static readonly string[] s_forwardedHeaders =
        ["authorization", "authorization-extras", "temporal-namespace", "x-forwarded-for", "client-name", "client-version"];

    private const string MetadataPrefix = "grpc-metadata-";

    private readonly HttpContext _http;

    public HttpCallContext(HttpContext http, string method)
    {
        _http = http;
        MethodCore = method;
        UserState["__HttpContext"] = http;
        foreach (var header in http.Request.Headers)
        {
            var name = header.Key.ToLowerInvariant();
            var key = name.StartsWith(MetadataPrefix, StringComparison.Ordinal) ? name[MetadataPrefix.Length..]
                : s_forwardedHeaders.Contains(name) ? name
                : null;
            if (key is { Length: > 0 } && !key.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.Ordinal))
            {
                foreach (var value in header.Value)
                {
                    RequestHeadersCore.Add(key, value ?? string.Empty);
                }
            }
        }
    }

    protected override string MethodCore { get; }

    protected override string HostCore => _http.Request.Host.Value ?? string.Empty;

    /// <summary>The peer in Grpc.AspNetCore's format, so audit records read the same for both transports.</summary>
    protected override string PeerCore => HttpPeer.Of(_http);

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore { get; } = [];

    protected override CancellationToken CancellationTokenCore => _http.RequestAborted;

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore { get; } = new(null, []);

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("Context propagation is not available on HTTP API calls.");
}
