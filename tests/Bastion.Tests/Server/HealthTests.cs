using Bastion.Tests.Integration;
using Bastion.Tests.Security.Tls;
using Bastion.Tests.Wire;
using Google.Protobuf;
using Grpc.Health.V1;

namespace Bastion.Tests.Server;

/// <summary>
/// <c>grpc.health.v1.Health/Check</c> as Temporal's frontend answers it: SERVING overall and per service, on the
/// same listener, to anyone (no credentials), and never an error in the audit log.
/// </summary>
public sealed class HealthTests
{
    private const string Check = "grpc.health.v1.Health/Check";

    /// <summary>The SDK's own health check against a dev server.</summary>
    [Collection(ServerCollection.Name)]
    public sealed class Sdk(ServerFixture fixture)
    {
        [Fact]
        public async Task CheckHealthAsync_IsServing() => Assert.True(await fixture.Client.Connection.CheckHealthAsync());
    }

    /// <summary>A production server with TLS, called by a client that presents no credentials at all.</summary>
    [Collection(TlsServerCollection.Name)]
    public sealed class WithoutCredentials(TlsServerFixture fixture)
    {
        private async Task<(int Status, HealthCheckResponse? Reply)> CheckAsync(string host, string service)
        {
            using var http = fixture.RawClient(clientCertificate: null);
            var (status, _, reply) = await RawGrpc.CallForReplyAsync(http, fixture.BaseUri(host), Check, new HealthCheckRequest { Service = service }.ToByteArray());
            return (status, status == 0 ? HealthCheckResponse.Parser.ParseFrom(reply) : null);
        }

        [Theory]
        [InlineData("")]
        [InlineData("temporal.api.workflowservice.v1.WorkflowService")]
        [InlineData("temporal.api.operatorservice.v1.OperatorService")]
        public async Task Check_IsServing_OnTheSharedAndTheNamespaceHosts(string service)
        {
            foreach (var host in new[] { TlsServerFixture.BaseDomain, TlsServerFixture.Host("alpha") })
            {
                var (status, reply) = await CheckAsync(host, service);
                Assert.Equal(0, status);
                Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply!.Status);
            }

            Assert.DoesNotContain(fixture.Audit.Records, r => r.Operation.StartsWith("grpc.health", StringComparison.Ordinal) && r.Status != 0);
        }

        [Fact]
        public async Task Check_OfAServiceNotServedHere_IsNotFound()
        {
            var (status, _) = await CheckAsync(TlsServerFixture.BaseDomain, "temporal.api.adminservice.v1.AdminService");
            Assert.Equal((int)Grpc.Core.StatusCode.NotFound, status);
        }
    }
}
