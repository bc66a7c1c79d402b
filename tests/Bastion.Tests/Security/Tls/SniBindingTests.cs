using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Bastion.Server;
using Bastion.Server.Tls;
using Bastion.Tests.Wire;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Security.Tls;

/// <summary>
/// The TLS server name binds a connection to its namespace whoever the caller is: even the dev-mode loopback
/// identity, which may use every namespace, is denied another namespace on a namespace's host.
/// </summary>
public sealed class SniBindingTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-sni-").FullName;
    private readonly X509Certificate2 _ca = TestPki.Ca("sni test CA");
    private BastionServer _server = null!;

    public async Task InitializeAsync()
    {
        using var certificate = CertificateFactory.CreateServer(_ca, ["bastion.test", "*.local.bastion.test"], [], TestPki.Now.AddDays(-1), TestPki.Now.AddDays(5));
        CertificateFactory.Write(certificate, Path.Combine(_directory, "s.pem"), Path.Combine(_directory, "s.key"));
        var options = new ServerOptions
        {
            Port = 0,
            DevMode = true,
            BaseDomain = "bastion.test",
            TlsCertFile = Path.Combine(_directory, "s.pem"),
            TlsKeyFile = Path.Combine(_directory, "s.key"),
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        };
        options.Namespaces.Add("other");
        _server = await BastionServer.StartAsync(options);
    }

    [Theory]
    [InlineData("default.local.bastion.test", "other", (int)StatusCode.PermissionDenied)]
    [InlineData("default.local.bastion.test", "other.local", (int)StatusCode.PermissionDenied)]
    [InlineData("default.local.bastion.test", "default", (int)StatusCode.OK)]
    [InlineData("default.local.bastion.test", "default.local", (int)StatusCode.OK)]
    [InlineData("bastion.test", "other", (int)StatusCode.OK)] // the shared host binds no namespace
    public async Task DevIdentity_OnANamespaceHost_IsBoundToThatNamespace(string host, string requested, int expected)
    {
        using var http = TlsServerFixture.LoopbackClient(_server.Port, new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, certificate, _, errors) => certificate != null && errors == SslPolicyErrors.RemoteCertificateChainErrors,
        });
        var (status, message) = await RawGrpc.CallAsync(http, $"https://{host}:{_server.Port}", "temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace",
            new DescribeNamespaceRequest { Namespace = requested });
        Assert.True(expected == status, $"{(StatusCode)status}: {message}");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
