namespace Bastion.Security.Pipeline;

/// <summary>Settings of the security pipeline.</summary>
public sealed class PipelineOptions
{
    /// <summary>Dev mode: loopback callers without credentials act as the local owner. Never on in production.</summary>
    public bool DevMode { get; set; }

    /// <summary>Requests per second allowed per namespace (a token bucket refilled every second).</summary>
    public int NamespaceRequestsPerSecond { get; set; } = 10_000;

    /// <summary>The base domain of the endpoints: namespace hosts are <c>&lt;name&gt;.&lt;account&gt;.&lt;base-domain&gt;</c>. Null without TLS.</summary>
    public string? BaseDomain { get; set; }
}
