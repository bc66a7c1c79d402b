using Bastion.Server;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.ErrorDetails.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Bastion.Tests.Security;

/// <summary>
/// A namespace over its request rate (<c>frontend.namespaceRPS</c>) is refused as Temporal refuses it: RESOURCE_EXHAUSTED
/// with a <c>ResourceExhaustedFailure</c> of cause RPS_LIMIT and scope NAMESPACE (what the SDKs' back-off looks for),
/// counted in <c>bastion_rate_limit_rejections</c>.
/// </summary>
public sealed class NamespaceRateLimitTests
{
    [Fact]
    public async Task OverTheLimit_IsResourceExhausted_WithTheRpsLimitCause()
    {
        var options = new ServerOptions { Port = 0, MetricsPort = 0, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.DynamicConfig["frontend.namespaceRPS"] = "1";
        await using var server = await BastionServer.StartAsync(options);
        var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default", RpcRetry = new() { MaxRetries = 0 } });

        RpcException? refused = null;
        for (var i = 0; i < 50 && refused is null; i++)
        {
            try
            {
                await client.Connection.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" });
            }
            catch (RpcException e)
            {
                refused = e;
            }
        }

        Assert.NotNull(refused);
        Assert.Equal(RpcException.StatusCode.ResourceExhausted, refused.Code);
        Assert.StartsWith("namespace rate limit exceeded", refused.Message, StringComparison.Ordinal);
        var failure = Assert.Single(refused.GrpcStatus.Value!.Details).Unpack<ResourceExhaustedFailure>();
        Assert.Equal(ResourceExhaustedCause.RpsLimit, failure.Cause);
        Assert.Equal(ResourceExhaustedScope.Namespace, failure.Scope);

        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.MetricsAddress}") };
        var scraped = (await http.GetStringAsync("/metrics")).Split('\n');
        Assert.Contains(scraped, l => l.StartsWith("bastion_rate_limit_rejections{", StringComparison.Ordinal) && l.Contains("namespace=\"default.local\"", StringComparison.Ordinal));
    }
}
