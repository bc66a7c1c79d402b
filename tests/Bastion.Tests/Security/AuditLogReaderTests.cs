using Bastion.Engine.Errors;
using Bastion.Security.Audit;
using Bastion.Security.Authorization;
using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Security;

/// <summary>Who may read which audit records, and paging.</summary>
public sealed class AuditLogReaderTests
{
    [Fact]
    public async Task OwnersAndAdminsReadTheirAccount_NamespaceAdminsTheirNamespace_OthersNothing()
    {
        using var store = SqliteStorageProvider.OpenInMemory();
        await store.MigrateAsync(1, CancellationToken.None);
        await using (var sink = new DurableAuditSink(store, AuditRecordCodec.Plain, "acme"))
        {
            await WriteAsync(sink, "acme", "ns-1", "a");
            await WriteAsync(sink, "acme", "ns-2", "b");
            await WriteAsync(sink, "other", "ns-3", "c");
            await WriteAsync(sink, null, null, "d"); // refused before any namespace: the server's account
        }

        var log = new AuditLog(new DecodedAuditStore(store.Audit, AuditRecordCodec.Plain));
        Assert.Equal(["a", "b", "d"], await OperationsAsync(log, new Principal(PrincipalType.User, "o", "owner", AccountRole.Owner, "acme")));
        Assert.Equal(["a", "b", "d"], await OperationsAsync(log, new Principal(PrincipalType.User, "x", "admin", AccountRole.Admin, "acme")));
        Assert.Equal(["b"], await OperationsAsync(log, new Principal(PrincipalType.ServiceAccount, "n", "ns admin", AccountRole.None, "acme") { NamespaceId = "ns-2", NamespacePermission = Permission.NamespaceAdmin }));
        Assert.Equal(["c"], await OperationsAsync(log, new Principal(PrincipalType.User, "p", "other owner", AccountRole.Owner, "other")));

        var developer = new Principal(PrincipalType.User, "d", "dev", AccountRole.Developer, "acme");
        var writer = new Principal(PrincipalType.Certificate, "c", "cert", AccountRole.None, "acme") { NamespaceId = "ns-1", NamespacePermission = Permission.NamespaceWrite };
        Assert.Equal(ErrorKind.PermissionDenied, (await Assert.ThrowsAsync<ServiceException>(async () => await log.ReadAsync(developer, new()))).Kind);
        Assert.Equal(ErrorKind.PermissionDenied, (await Assert.ThrowsAsync<ServiceException>(async () => await log.ReadAsync(writer, new()))).Kind);
    }

    [Fact]
    public async Task Paging_TimeRangeAndPageSizeLimit()
    {
        using var store = SqliteStorageProvider.OpenInMemory();
        await store.MigrateAsync(1, CancellationToken.None);
        var start = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        await using (var sink = new DurableAuditSink(store, AuditRecordCodec.Plain, "acme"))
        {
            for (var i = 0; i < 7; i++)
            {
                await sink.WriteAsync(new AuditRecord { LogId = $"{i}", EmitTime = start.AddMinutes(i), Operation = $"op{i}", PrincipalType = "User" });
            }
        }

        var log = new AuditLog(new DecodedAuditStore(store.Audit, AuditRecordCodec.Plain));
        var owner = new Principal(PrincipalType.User, "o", "owner", AccountRole.Owner, "acme");
        var request = new AuditLogRequest(From: start.AddMinutes(1), To: start.AddMinutes(6), PageSize: 2);
        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = await log.ReadAsync(owner, request with { PageToken = token });
            Assert.True(page.Records.Count <= 2);
            seen.AddRange(page.Records.Select(r => r.Record.Operation));
            token = page.NextPageToken;
        }
        while (token != null);

        Assert.Equal(["op1", "op2", "op3", "op4", "op5"], seen);
        Assert.Equal(ErrorKind.InvalidArgument, (await Assert.ThrowsAsync<ServiceException>(async () => await log.ReadAsync(owner, new(PageSize: 1001)))).Kind);
        Assert.Equal(ErrorKind.InvalidArgument, (await Assert.ThrowsAsync<ServiceException>(async () => await log.ReadAsync(owner, new(PageToken: "not-a-token")))).Kind);
    }

    private static ValueTask WriteAsync(DurableAuditSink sink, string? account, string? namespaceId, string operation) =>
        sink.WriteAsync(new AuditRecord { LogId = operation, EmitTime = DateTime.UtcNow, Operation = operation, PrincipalType = "User", Account = account, NamespaceId = namespaceId });

    private static async Task<List<string>> OperationsAsync(AuditLog log, Principal reader) =>
        [.. (await log.ReadAsync(reader, new())).Records.Select(r => r.Record.Operation)];
}
