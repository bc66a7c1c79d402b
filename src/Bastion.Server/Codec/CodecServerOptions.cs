using Bastion.Codec;

namespace Bastion.Server.Codec;

/// <summary>How to run a codec server.</summary>
public sealed class CodecServerOptions
{
    public string Ip { get; set; } = "127.0.0.1";

    /// <summary>Port; 0 picks a free one (tests).</summary>
    public int Port { get; set; } = 8081;

    public required EncryptionKeyRing Keys { get; init; }

    /// <summary>When set, every request must carry <c>Authorization: Bearer &lt;token&gt;</c>. Never logged.</summary>
    public string? Token { get; set; }

    /// <summary>Origins allowed by CORS: the UI's origin, e.g. <c>https://temporal.example.com</c>.</summary>
    public IList<string> AllowedOrigins { get; } = [];

    /// <summary>Certificate and key (PEM) for https; without them the codec server binds loopback only.</summary>
    public string? TlsCertFile { get; set; }

    public string? TlsKeyFile { get; set; }
}
