using Bastion.Engine.Errors;

namespace Bastion.Engine.Namespaces;

/// <summary>The rule for a namespace's codec-server endpoint, checked before a setting is stored.</summary>
public static class CodecServerEndpoints
{
    /// <summary><paramref name="codec"/> if valid: the endpoint is an absolute https URL (http only on loopback, and never with access tokens).</summary>
    public static NamespaceCodecServer Validate(NamespaceCodecServer codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        if (!Uri.TryCreate(codec.Endpoint, UriKind.Absolute, out var uri)
            || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
        {
            throw ServiceException.InvalidArgument($"Codec server endpoint {ServiceException.Quote(codec.Endpoint)} must be an absolute https URL (http only on loopback).");
        }

        if (codec.PassAccessToken && uri.Scheme != Uri.UriSchemeHttps)
        {
            throw ServiceException.InvalidArgument("A codec server that receives access tokens must use https.");
        }

        return codec;
    }
}
