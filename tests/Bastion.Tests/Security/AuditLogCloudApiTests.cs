using Bastion.Server;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security;

/// <summary>GetAuditLogs on the Cloud Ops API reads the durable audit log, paged, for an account owner.</summary>
public sealed class AuditLogCloudApiTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bastion-auditapi-" + Guid.NewGuid().ToString("N"));
    private BastionServer _server = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _server = await BastionServer.StartAsync(new ServerOptions { Port = 0, DatabaseFile = Path.Combine(_directory, "b.db"), LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
    }

    [Fact]
    public async Task GetAuditLogs_ReturnsTheCallsThatWereMade_InPages()
    {
        // The dev-mode loopback caller owns the local account.
        var client = await TemporalClient.ConnectAsync(new(_server.Address) { Namespace = "default" });
        for (var i = 0; i < 3; i++)
        {
            await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" });
        }

        var records = new List<Temporalio.Api.Cloud.AuditLog.V1.LogRecord>();
        var token = string.Empty;
        do
        {
            var page = await client.Connection.CloudService.GetAuditLogsAsync(new GetAuditLogsRequest { PageSize = 2, PageToken = token });
            Assert.InRange(page.Logs.Count, 0, 2);
            records.AddRange(page.Logs);
            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));

        var describes = records.Where(r => r.Operation.EndsWith("WorkflowService/DescribeNamespace", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, describes.Count);
        Assert.All(describes, r => Assert.Equal("OK", r.Status));
        Assert.All(describes, r => Assert.Equal("LocalDev", r.Principal.Type));
        Assert.Equal(records.Count, records.Select(r => r.LogId).Distinct().Count());

        var tooLarge = await Assert.ThrowsAsync<RpcException>(() => client.Connection.CloudService.GetAuditLogsAsync(new GetAuditLogsRequest { PageSize = 1001 }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, tooLarge.Code);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
