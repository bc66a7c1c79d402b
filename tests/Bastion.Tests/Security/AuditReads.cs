using System.Text.Json.Nodes;
using Bastion.Security.Audit;
using Bastion.Storage;

namespace Bastion.Tests.Security;

/// <summary>Reads of the whole audit log for tests: every chain, merged in log order.</summary>
internal static class AuditReads
{
    public static async Task<IReadOnlyList<StoredAuditRecord>> AllAsync(this IAuditStore store, AuditQuery? filter = null)
    {
        var all = new List<StoredAuditRecord>();
        var after = AuditPosition.Start;
        AuditRead read;
        do
        {
            read = await AuditReader.ReadAsync(store, after, 1000, filter, CancellationToken.None);
            all.AddRange(read.Records);
            after = read.Next;
        }
        while (read.More);
        return all;
    }

    /// <summary>Every record of a running server's log, through its read API, as the local developer sees them.</summary>
    public static async Task<List<AuditLogEntry>> AuditEntriesAsync(this Bastion.Server.BastionServer server)
    {
        var result = new List<AuditLogEntry>();
        string? token = null;
        do
        {
            var page = await server.AuditLog.ReadAsync(Bastion.Security.Authorization.Principal.LocalDev, new AuditLogRequest(PageSize: 2, PageToken: token));
            result.AddRange(page.Records);
            token = page.NextPageToken;
        }
        while (token != null);

        return result;
    }

    /// <summary>How many records the chains hold (head minus anchor, summed).</summary>
    public static async Task<long> CountAsync(this IAuditStore store) =>
        (await store.ListAuditChainsAsync(CancellationToken.None)).Sum(c => c.Head.Sequence - c.Anchor.Sequence);

    /// <summary>A record's place as "chain#seq", from a stored row or from its canonical JSON line.</summary>
    public static string PlaceOf(StoredAuditRecord record) => $"{record.Chain}#{record.Sequence}";

    public static string PlaceOf(string jsonLine)
    {
        var json = JsonNode.Parse(jsonLine)!;
        return $"{json["chain"]?.GetValue<string>() ?? AuditChains.Legacy}#{json["seq"]!.GetValue<long>()}";
    }
}
