namespace Bastion.Security.Audit;

/// <summary>
/// Who is acting on this flow, for the account events (key, grant and access changes) the identity layer records:
/// set by the security pipeline around each call, and by the command line for its commands.
/// </summary>
public sealed record AuditActor(string PrincipalType, string PrincipalId, string PrincipalName, string Operation, string Peer)
{
    private static readonly AsyncLocal<AuditActor?> s_current = new();

    public static AuditActor? Current
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }

    public string? ApiKeyId { get; init; }

    public string? RequestId { get; init; }

    /// <summary>Changes made by the server itself (first-start owner key, clean-up after a namespace is removed).</summary>
    public static AuditActor System { get; } = new("System", "bastion", "bastion", "bastion", string.Empty);

    /// <summary>The command line on the database file, run by <paramref name="user"/> (the OS user).</summary>
    public static AuditActor CommandLine(string user, string command) => new("CommandLine", user, user, command, "local");
}
