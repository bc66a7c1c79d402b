using Bastion.Engine.Namespaces;
using Bastion.Security.Authorization;
using Grpc.Core;

namespace Bastion.Security.Pipeline;

/// <summary>What the pipeline learned about a call, handed to the handler and to the audit record.</summary>
public sealed class CallContext
{
    private const string Key = "bastion.call";

    public required string Service { get; init; }

    public required string Method { get; init; }

    public required string Peer { get; init; }

    public DateTime StartTime { get; init; }

    public Principal? Principal { get; set; }

    public Permission? Permission { get; set; }

    public NamespaceEntry? Namespace { get; set; }

    /// <summary>The namespace the caller named, as it named it (also when it does not exist).</summary>
    public string? NamespaceName { get; set; }

    public string? RequestId { get; set; }

    /// <summary>The request's non-payload identifiers, for the audit record.</summary>
    public IReadOnlyDictionary<string, string> Details { get; set; } = new Dictionary<string, string>();

    /// <summary>The way the call came, for its audit record: <c>ui</c> through the web UI, else null.</summary>
    public string? Via { get; set; }

    /// <summary>The namespace (<c>name.account</c>) the connection's TLS server name addresses, if any.</summary>
    public string? EndpointNamespace { get; set; }

    /// <summary>The namespace the pipeline resolved; handlers of namespace-scoped RPCs may rely on it.</summary>
    public NamespaceEntry RequiredNamespace =>
        Namespace ?? throw new InvalidOperationException($"{Service}/{Method} is not namespace-scoped.");

    public void AttachTo(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.UserState[Key] = this;
    }

    public static CallContext Of(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(Key, out var value) && value is CallContext call
            ? call
            : throw new InvalidOperationException("The call did not pass the security pipeline.");
    }
}
