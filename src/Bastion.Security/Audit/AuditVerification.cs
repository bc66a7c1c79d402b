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
/// The result of verifying the audit log, or one of its chains: intact with the number of records checked, or the
/// first problem found (the chain and sequence number it concerns and what happened to it). <see cref="Chains"/> holds
/// the result of each chain verified, in order.
/// </summary>
public sealed record AuditVerification(bool IsIntact, long Checked, string? Chain, long? Sequence, AuditTampering Tampering, string Message)
{
    public IReadOnlyList<AuditVerification> Chains { get; init; } = [];

    public static AuditVerification Intact(long count, int chains) =>
        new(true, count, null, null, AuditTampering.None, $"The audit log is intact: {count} records checked in {chains} chains.");

    public static AuditVerification IntactChain(string chain, long count) =>
        new(true, count, chain, null, AuditTampering.None, $"chain {chain}: intact, {count} records checked.");

    public static AuditVerification Broken(string chain, long sequence, AuditTampering tampering, long checkedBefore, string detail) =>
        new(false, checkedBefore, chain, sequence, tampering,
            $"The audit log was tampered with: chain {chain}: {detail} ({tampering.ToString().ToLowerInvariant()}; {checkedBefore} records before it in the chain are intact).");
}
