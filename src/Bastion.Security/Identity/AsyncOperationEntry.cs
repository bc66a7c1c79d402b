namespace Bastion.Security.Identity;

/// <summary>
/// A Cloud Ops API write, as <c>GetAsyncOperation</c> reports it. Writes here are durable when the call returns, so
/// an operation is recorded already fulfilled.
/// </summary>
public sealed record AsyncOperationEntry : IdentityEntry
{
    public required string OperationType { get; init; }

    /// <summary>The id of the resource the operation changed.</summary>
    public string ResourceId { get; init; } = string.Empty;
}
