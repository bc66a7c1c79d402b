using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Bastion.Tests.Wire;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Workflows;

namespace Bastion.Tests.Security.Tls;

/// <summary>Transport security of a production listener: TLS 1.3 only, and per-namespace mTLS chosen by the server name.</summary>
[Collection(TlsServerCollection.Name)]
public sealed class TlsConnectionTests(TlsServerFixture fixture)
{
    private const string DescribeNamespace = "temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace";

    [Workflow]
    public sealed class EchoWorkflow
    {
        [WorkflowRun]
        public Task<string> RunAsync(string text) => Task.FromResult("echo " + text);
    }

    [Fact]
    public async Task Sdk_WithTheNamespacesClientCertificate_RunsAWorkflow()
    {
        var client = await fixture.ConnectAsync("alpha", fixture.ClientA);
        var taskQueue = "tq-" + Guid.NewGuid().ToString("N");
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<EchoWorkflow>());
        var result = await worker.ExecuteAsync(() => client.ExecuteWorkflowAsync(
            (EchoWorkflow wf) => wf.RunAsync("over mTLS"), new("echo-" + Guid.NewGuid().ToString("N"), taskQueue)).WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("echo over mTLS", result);
    }

    [Fact]
    public async Task Sdk_WithoutTls_IsRefused()
    {
        var plaintext = new TemporalClientConnectOptions($"127.0.0.1:{fixture.Port}") { Namespace = "alpha.acme" };
        await Assert.ThrowsAnyAsync<Exception>(() => TemporalClient.ConnectAsync(plaintext));
    }

    [Fact]
    public async Task RawPlaintextHttp2_IsRefused()
    {
        await Assert.ThrowsAnyAsync<HttpRequestException>(() =>
            RawGrpc.CallAsync($"127.0.0.1:{fixture.Port}", DescribeNamespace, new DescribeNamespaceRequest { Namespace = "alpha.acme" }));
    }

    [Fact]
    public async Task Tls12Client_IsRefusedAtTheHandshake_AndTls13IsAccepted()
    {
        var tls12 = HandshakeAsync(SslProtocols.Tls12);
        var error = await Record.ExceptionAsync(() => tls12);
        Assert.True(error is AuthenticationException or IOException, $"TLS 1.2 handshake should fail, got {error?.GetType().Name ?? "success"}");

        await HandshakeAsync(SslProtocols.Tls13); // the same client with TLS 1.3 gets through
    }

    [Fact]
    public async Task CertificateFromAnotherNamespacesCa_IsUnauthenticated()
    {
        var (status, message) = await DescribeAsync("alpha", fixture.ClientB);
        Assert.Equal(StatusCode.Unauthenticated, status);
        Assert.Contains("does not chain to the namespace's CA bundle", message, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => fixture.ConnectAsync("alpha", fixture.ClientB));
    }

    [Fact]
    public async Task ExpiredCertificate_IsUnauthenticated()
    {
        using var expired = TestPki.Client(fixture.CaA, "worker-a", notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        var (status, message) = await DescribeAsync("alpha", expired);
        Assert.Equal(StatusCode.Unauthenticated, status);
        Assert.Contains("expired", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FilterMismatch_IsUnauthenticated_AndAMatchingCertificateIsAccepted()
    {
        var (status, message) = await DescribeAsync("filtered", fixture.ClientA);
        Assert.Equal(StatusCode.Unauthenticated, status);
        Assert.Contains("matches none of namespace filtered.acme's certificate filters", message, StringComparison.Ordinal);

        using var allowed = TestPki.Client(fixture.CaA, "Allowed-Worker-7");
        (status, _) = await DescribeAsync("filtered", allowed);
        Assert.Equal(StatusCode.OK, status);
    }

    [Fact]
    public async Task NoClientCertificate_OnANamespaceHost_IsUnauthenticated()
    {
        var (status, _) = await DescribeAsync("alpha", null);
        Assert.Equal(StatusCode.Unauthenticated, status);
    }

    [Fact]
    public async Task SharedHost_WithoutCredentials_IsUnauthenticated_AndACertificateThereIsNotAccepted()
    {
        using var anonymous = fixture.RawClient(null);
        var (status, _) = await RawGrpc.CallAsync(anonymous, fixture.BaseUri(TlsServerFixture.BaseDomain), DescribeNamespace, new DescribeNamespaceRequest { Namespace = "alpha.acme" });
        Assert.Equal((int)StatusCode.Unauthenticated, status);

        using var withCertificate = fixture.RawClient(fixture.ClientA);
        var (certificateStatus, _) = await RawGrpc.CallAsync(withCertificate, fixture.BaseUri(TlsServerFixture.BaseDomain), DescribeNamespace, new DescribeNamespaceRequest { Namespace = "alpha.acme" });
        Assert.Equal((int)StatusCode.Unauthenticated, certificateStatus);
    }

    [Fact]
    public async Task RotatedBundle_AcceptsCertificatesOfTheOldAndTheNewCa()
    {
        using var fromNew = TestPki.Client(fixture.CaC, "worker-c");
        Assert.Equal(StatusCode.OK, (await DescribeAsync("rotated", fixture.ClientA)).Status);
        Assert.Equal(StatusCode.OK, (await DescribeAsync("rotated", fromNew)).Status);
        Assert.Equal(StatusCode.Unauthenticated, (await DescribeAsync("rotated", fixture.ClientB)).Status);
    }

    [Fact]
    public async Task RevokedCertificate_IsUnauthenticated_WhenTheNamespaceHasACrl()
    {
        var (status, message) = await DescribeAsync("revoking", fixture.RevokedClient);
        Assert.Equal(StatusCode.Unauthenticated, status);
        Assert.Contains("revoked", message, StringComparison.Ordinal);
        Assert.Equal(StatusCode.OK, (await DescribeAsync("revoking", fixture.ClientA)).Status);
        Assert.Equal(StatusCode.OK, (await DescribeAsync("alpha", fixture.RevokedClient)).Status); // alpha has no CRL
    }

    [Fact]
    public async Task DescribeNamespace_ReportsCasExpiringWithin15Days()
    {
        using var soon = Bastion.Server.Tls.CertificateFactory.CreateCa("Expiring CA", DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(10));
        await fixture.CreateNamespaceAsync("expiring", new Bastion.Engine.Namespaces.NamespaceTlsPolicy { CaBundlePem = TestPki.Pem(soon, fixture.CaB) });
        using var client = TestPki.Client(soon, "worker");
        var connection = await fixture.ConnectAsync("expiring", client);
        var described = await connection.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "expiring.acme" });
        var warning = described.NamespaceInfo.Data["bastion.tls.expiring-client-cas"];
        Assert.Contains("CN=Expiring CA", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("CA B", warning, StringComparison.Ordinal);

        var alpha = await (await fixture.ConnectAsync("alpha", fixture.ClientA)).WorkflowService.DescribeNamespaceAsync(new() { Namespace = "alpha.acme" });
        Assert.False(alpha.NamespaceInfo.Data.ContainsKey("bastion.tls.expiring-client-cas"));
    }

    [Fact]
    public async Task ServerCertificate_IsReloadedWhenItsFilesChange()
    {
        var before = await ServerCertificateAsync();
        using var renewed = fixture.WriteServerCertificate();
        var after = await ServerCertificateAsync();
        Assert.NotEqual(before, after);
        Assert.Equal(renewed.SerialNumber, after);
    }

    private async Task<(StatusCode Status, string Message)> DescribeAsync(string name, X509Certificate2? clientCertificate)
    {
        using var http = fixture.RawClient(clientCertificate);
        var (status, message) = await RawGrpc.CallAsync(http, fixture.BaseUri(TlsServerFixture.Host(name)), DescribeNamespace, new DescribeNamespaceRequest { Namespace = $"{name}.acme" });
        return ((StatusCode)status, message);
    }

    private async Task HandshakeAsync(SslProtocols protocols)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, fixture.Port);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = TlsServerFixture.Host("alpha"),
            EnabledSslProtocols = protocols,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            RemoteCertificateValidationCallback = (_, certificate, _, errors) => fixture.TrustsServer(certificate, errors),
        });
    }

    private async Task<string> ServerCertificateAsync()
    {
        string? serial = null;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, fixture.Port);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = TlsServerFixture.BaseDomain,
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                serial = certificate?.GetSerialNumberString();
                return fixture.TrustsServer(certificate, errors);
            },
        });
        return serial!;
    }
}
