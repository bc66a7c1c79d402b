using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace Bastion.Tests.Wire;

/// <summary>
/// A bare gRPC call over HTTP/2 with HttpClient: for requests the SDKs never send (unparsable bodies,
/// headers that disagree with the request).
/// </summary>
internal static class RawGrpc
{
    public static Task<(int Status, string Message)> CallAsync(string address, string method, IMessage request, IDictionary<string, string>? headers = null) =>
        CallAsync(address, method, request.ToByteArray(), headers);

    public static async Task<(int Status, string Message)> CallAsync(string address, string method, byte[] body, IDictionary<string, string>? headers = null)
    {
        using var http = new HttpClient();
        return await CallAsync(http, $"http://{address}", method, body, headers);
    }

    /// <summary>A call through a given client (e.g. one set up for TLS with a client certificate) to <paramref name="baseUri"/>.</summary>
    public static Task<(int Status, string Message)> CallAsync(HttpClient http, string baseUri, string method, IMessage request, IDictionary<string, string>? headers = null) =>
        CallAsync(http, baseUri, method, request.ToByteArray(), headers);

    public static async Task<(int Status, string Message)> CallAsync(HttpClient http, string baseUri, string method, byte[] body, IDictionary<string, string>? headers = null)
    {
        var (status, message, _) = await CallForReplyAsync(http, baseUri, method, body, headers);
        return (status, message);
    }

    /// <summary>
    /// A unary call whose reply is parsed: for what an SDK's own client would change on the way (the SDKs clear
    /// <c>request_eager_execution</c> when no local worker can take the task).
    /// </summary>
    public static async Task<TResponse> UnaryAsync<TResponse>(string address, string method, IMessage request, MessageParser<TResponse> parser)
        where TResponse : IMessage<TResponse>
    {
        using var http = new HttpClient();
        var (status, message, reply) = await CallForReplyAsync(http, $"http://{address}", method, request.ToByteArray());
        return status == 0 ? parser.ParseFrom(reply) : throw new InvalidOperationException($"{method} failed with gRPC status {status}: {message}");
    }

    /// <summary>A call that also hands back the reply message's bytes (empty when the call failed).</summary>
    public static async Task<(int Status, string Message, byte[] Reply)> CallForReplyAsync(HttpClient http, string baseUri, string method, byte[] body, IDictionary<string, string>? headers = null)
    {
        var frame = new byte[5 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), body.Length);
        body.CopyTo(frame, 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{baseUri}/{method}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        foreach (var (key, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.Add(key, value);
        }

        using var response = await http.SendAsync(request);
        var replyFrame = await response.Content.ReadAsByteArrayAsync();
        var all = response.TrailingHeaders.Concat(response.Headers).ToDictionary(h => h.Key, h => string.Join(",", h.Value));
        var reply = replyFrame.Length >= 5 ? replyFrame[5..(5 + BinaryPrimitives.ReadInt32BigEndian(replyFrame.AsSpan(1)))] : [];
        return (int.Parse(all["grpc-status"], System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(all.GetValueOrDefault("grpc-message", string.Empty)), reply);
    }
}
