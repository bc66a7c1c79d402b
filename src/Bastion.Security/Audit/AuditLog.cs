using System.Globalization;
using Bastion.Engine.Errors;
using Bastion.Security.Authorization;
using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>
/// Reads the audit log for a caller, as <c>GetAuditLogs</c> does: a time range, pages of at most
/// <see cref="MaxPageSize"/> records in log order (commit time, then chain and sequence: <see cref="AuditReader"/>),
/// and an opaque page token holding the position in every chain. Only an account's owners and admins read
/// the account's records; a namespace admin (an identity bound to one namespace with admin on it) reads that
/// namespace's records; anyone else is refused.
/// </summary>
public sealed class AuditLog(IAuditStore store)
{
    public const int MaxPageSize = 1000;

    public async Task<AuditPage> ReadAsync(Principal reader, AuditLogRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(request);
        if (request.PageSize is < 0 or > MaxPageSize)
        {
            throw ServiceException.InvalidArgument($"page_size {request.PageSize}: at most {MaxPageSize} records per page.");
        }

        if (request.From is { } from && request.To is { } to && to < from)
        {
            throw ServiceException.InvalidArgument("The end of the time range is before its start.");
        }

        var after = AuditPosition.Start;
        if (!string.IsNullOrEmpty(request.PageToken) && !AuditPosition.TryParseToken(request.PageToken, out after))
        {
            throw ServiceException.InvalidArgument("The page token is not one this server issued.");
        }

        var pageSize = request.PageSize == 0 ? MaxPageSize : request.PageSize;
        var filter = new AuditQuery(string.Empty, 0, pageSize) { From = request.From, To = request.To, Account = reader.Account, NamespaceId = ScopeOf(reader) };
        var read = await AuditReader.ReadAsync(store, after, pageSize, filter, cancellationToken).ConfigureAwait(false);
        var entries = read.Records.Select(row => new AuditLogEntry(row.Chain, row.Sequence, AuditJson.Parse(row.Data).Record, row.Data)).ToList();
        return new AuditPage(entries, read.More ? read.Next.ToToken() : null);
    }

    /// <summary>Null: the whole account; else the one namespace the reader may see.</summary>
    private static string? ScopeOf(Principal reader)
    {
        if (reader.NamespaceId is { } namespaceId)
        {
            return reader.NamespacePermission >= Permission.NamespaceAdmin
                ? namespaceId
                : throw new ServiceException(ErrorKind.PermissionDenied, $"{reader.Type} {reader.Name} may not read the audit log: it needs admin on its namespace.");
        }

        return reader.Role is AccountRole.Owner or AccountRole.Admin
            ? null
            : throw new ServiceException(ErrorKind.PermissionDenied, $"{reader.Type} {reader.Name} may not read the audit log: only account owners and admins may.");
    }
}

/// <summary>A request for audit records: [<see cref="From"/>, <see cref="To"/>), up to <see cref="PageSize"/> (0: the maximum).</summary>
public sealed record AuditLogRequest(DateTime? From = null, DateTime? To = null, int PageSize = 0, string? PageToken = null);

/// <summary>One record read back, with its chain, its sequence number there and its canonical JSON.</summary>
public sealed record AuditLogEntry(string Chain, long Sequence, AuditRecord Record, byte[] Json);

/// <summary>A page of records; <see cref="NextPageToken"/> is null on the last page.</summary>
public sealed record AuditPage(IReadOnlyList<AuditLogEntry> Records, string? NextPageToken);
