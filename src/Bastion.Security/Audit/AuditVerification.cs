namespace Bastion.Security.Audit;

/// <summary>How a chain was found broken.</summary>
public enum AuditTampering
{
    None,
    Edited,
    Removed,
    Reordered,
}

/// <summary>
/// The result of verifying the audit chain: intact with the number of records checked, or the first problem found
/// (the sequence number it concerns and what happened to it).
/// </summary>
public sealed record AuditVerification(bool IsIntact, long Checked, long? Sequence, AuditTampering Tampering, string Message)
{
    public static AuditVerification Intact(long count) =>
        new(true, count, null, AuditTampering.None, $"The audit log is intact: {count} records checked.");

    public static AuditVerification Broken(long sequence, AuditTampering tampering, long checkedBefore, string detail) =>
        new(false, checkedBefore, sequence, tampering, $"The audit log was tampered with: {detail} ({tampering.ToString().ToLowerInvariant()}; {checkedBefore} records before it are intact).");
}
