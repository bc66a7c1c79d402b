using System.Text;
using Bastion.Security.Audit;
using Google.Protobuf;
using Grpc.Core;
using Temporalio.Api.Cloud.AuditLog.V1;
using Temporalio.Api.Cloud.CloudService.V1;

namespace Bastion.Frontend.CloudService;

/// <summary>GetAuditLogs: the account's audit records (or a namespace admin's namespace), in log order, paged.</summary>
internal sealed partial class CloudServiceHandler
{
    public async Task<GetAuditLogsResponse> GetAuditLogs(GetAuditLogsRequest request, ServerCallContext context)
    {
        var page = await auditLog.ReadAsync(CallerOf(context), new AuditLogRequest(
            request.StartTimeInclusive?.ToDateTime(),
            request.EndTimeExclusive?.ToDateTime(),
            request.PageSize,
            string.IsNullOrEmpty(request.PageToken) ? null : request.PageToken)).ConfigureAwait(false);
        var response = new GetAuditLogsResponse { NextPageToken = page.NextPageToken ?? string.Empty };
        foreach (var entry in page.Records)
        {
            var r = entry.Record;
            response.Logs.Add(new LogRecord
            {
                LogId = r.LogId,
                EmitTime = Ts(r.EmitTime),
                Operation = r.Operation,
                Principal = new Principal { Type = r.PrincipalType, Id = r.PrincipalId, Name = r.PrincipalName, ApiKeyId = r.ApiKeyId ?? string.Empty },
                Status = ((StatusCode)r.Status).ToString(),
                XForwardedFor = r.XForwardedFor ?? r.Peer,
                Version = int.TryParse(r.Version, out var version) ? version : 1,
                // The stored canonical record: payload-free by construction (see AuditRequestDetails).
                RawDetails = Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson(Encoding.UTF8.GetString(entry.Json)),
            });
        }

        return response;
    }
}
