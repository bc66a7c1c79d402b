using System.Net.Http.Headers;
using Bastion.Storage;

namespace Bastion.Security.Audit;

/// <summary>
/// POSTs each batch as one <c>application/x-ndjson</c> body (one record per line) to an HTTP endpoint; any status but
/// 2xx is a failed delivery, retried by the exporter. Receivers deduplicate on <c>log_id</c> or <c>seq</c>: delivery is
/// at least once.
/// </summary>
public sealed class HttpAuditTarget(Uri endpoint, HttpClient client) : IAuditExportTarget
{
    private static readonly MediaTypeHeaderValue s_ndjson = new("application/x-ndjson");

    /// <summary>Scheme, host, port and path only: user info and query may hold credentials.</summary>
    public string Name => "http:" + endpoint.GetLeftPart(UriPartial.Path).Replace(endpoint.UserInfo + "@", string.Empty, StringComparison.Ordinal);

    public async Task DeliverAsync(IReadOnlyList<StoredAuditRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        using var body = new MemoryStream();
        foreach (var record in records)
        {
            body.Write(record.Data);
            body.WriteByte((byte)'\n');
        }

        body.Position = 0;
        using var content = new StreamContent(body);
        content.Headers.ContentType = s_ndjson;
        using var response = await client.PostAsync(endpoint, content, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"The audit endpoint {Name} answered {(int)response.StatusCode}.", null, response.StatusCode);
        }
    }
}
