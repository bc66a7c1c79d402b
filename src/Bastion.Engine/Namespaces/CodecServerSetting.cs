using Bastion.Engine.Errors;

namespace Bastion.Engine.Namespaces;

/// <summary>
/// A namespace's codec server, as Temporal Cloud's <c>NamespaceSpec.codec_server</c> has it: where the UI sends
/// payloads to decode, whether it passes the user's access token, and whether it includes cross-origin credentials.
/// </summary>
public sealed record CodecServerSetting(string Endpoint, bool PassAccessToken, bool IncludeCrossOriginCredentials)
{
    /// <summary>This setting if valid: the endpoint is an absolute https URL (http only for localhost).</summary>
    public CodecServerSetting Validate()
    {
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri)
            || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
        {
            throw ServiceException.InvalidArgument($"Codec server endpoint {ServiceException.Quote(Endpoint)} must be an absolute https URL (http only on loopback).");
        }

        if (PassAccessToken && uri.Scheme != Uri.UriSchemeHttps)
        {
            throw ServiceException.InvalidArgument("A codec server that receives access tokens must use https.");
        }

        return this;
    }
}
