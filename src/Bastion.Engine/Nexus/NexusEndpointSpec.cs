namespace Bastion.Engine.Nexus;

/// <summary>
/// What a caller asks an endpoint to be, from either API (OperatorService's <c>EndpointSpec</c>, the Cloud Ops API's),
/// before validation. Namespaces are named as the caller names them. <see cref="AllowedCallerNamespaces"/> null keeps
/// the list an endpoint has (OperatorService has no such field), or for a new endpoint allows its target namespace.
/// </summary>
public sealed record NexusEndpointSpec(
    string Name,
    byte[]? Description,
    string? TargetNamespace,
    string? TargetTaskQueue,
    string? ExternalUrl,
    IReadOnlyList<string>? AllowedCallerNamespaces);
