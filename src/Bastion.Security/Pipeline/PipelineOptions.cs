namespace Bastion.Security.Pipeline;

/// <summary>Settings of the security pipeline.</summary>
public sealed class PipelineOptions
{
    /// <summary>Dev mode: loopback callers without credentials act as the local owner. Never on in production.</summary>
    public bool DevMode { get; set; }

    /// <summary>Requests per second allowed per on-demand namespace (<c>--namespace-rps</c>, Temporal's <c>frontend.namespaceRPS</c>).</summary>
    public int NamespaceRequestsPerSecond { get; set; } = 10_000;

    /// <summary>Actions per second allowed per on-demand namespace (<c>--namespace-aps</c>); see <c>ActionCosts</c>.</summary>
    public int NamespaceActionsPerSecond { get; set; } = 2_000;

    /// <summary>A bucket holds this many seconds of its rate (Temporal's <c>frontend.namespaceBurstRatio</c>, default 2).</summary>
    public double BurstRatio { get; set; } = 2;

    /// <summary>Long polls one namespace may hold open at once (Temporal's <c>frontend.namespaceCount</c>).</summary>
    public int NamespaceConcurrentLongPolls { get; set; } = 1_200;

    /// <summary>How many nodes share a namespace's limits (a cluster's live members); each node enforces its share.</summary>
    public Func<int> Nodes { get; set; } = static () => 1;

    /// <summary>The base domain of the endpoints: namespace hosts are <c>&lt;name&gt;.&lt;account&gt;.&lt;base-domain&gt;</c>. Null without TLS.</summary>
    public string? BaseDomain { get; set; }
}
