namespace Bastion.Security.Tls;

/// <summary>
/// What the TLS server name (SNI) addresses: a namespace's host <c>&lt;name&gt;.&lt;account&gt;.&lt;base-domain&gt;</c>,
/// or anything else (the shared host <c>&lt;base-domain&gt;</c>, an IP, no SNI), which binds no namespace.
/// </summary>
public static class EndpointHost
{
    /// <summary>The namespace (<c>name.account</c>) the server name addresses, or null.</summary>
    public static string? NamespaceOf(string? serverName, string? baseDomain)
    {
        if (string.IsNullOrEmpty(serverName) || string.IsNullOrEmpty(baseDomain))
        {
            return null;
        }

        var host = serverName.TrimEnd('.').ToLowerInvariant();
        var suffix = "." + baseDomain.TrimEnd('.').ToLowerInvariant();
        if (!host.EndsWith(suffix, StringComparison.Ordinal))
        {
            return null;
        }

        var prefix = host[..^suffix.Length];
        var dot = prefix.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && dot < prefix.Length - 1 && prefix.IndexOf('.', dot + 1) < 0 ? prefix : null;
    }
}
