using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Bastion.Server;
using Bastion.Server.Cluster;
using Bastion.Server.Tls;
using Bastion.Tests.Integration;
using Bastion.Tests.Storage.Postgres;
using Grpc.Core;
using Grpc.Net.Client;

namespace Bastion.Tests.Cluster;

/// <summary>
/// The cluster's mutual TLS: nodes with certificates of the cluster CA serve each other's calls; a peer with a
/// certificate of another CA, or none, or plaintext, is refused at the cluster listener's handshake.
/// </summary>
public sealed class ClusterTlsTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task NodesOfTheClusterCA_ServeEachOther_AndAStrangerIsRefused()
    {
        var directory = Directory.CreateTempSubdirectory("bastion-cluster-tls-").FullName;
        var now = DateTimeOffset.UtcNow;
        using var ca = CertificateFactory.CreateCa("cluster CA", now.AddMinutes(-5), now.AddDays(1));
        File.WriteAllText(Path.Combine(directory, "ca.pem"), CertificateFactory.CertificatePem(ca));
        var url = await database.CreateDatabaseAsync();
        var nodes = new List<BastionServer>();
        try
        {
            foreach (var name in new[] { "tls-a", "tls-b" })
            {
                using var certificate = CertificateFactory.CreateNode(ca, name, [IPAddress.Loopback], now.AddMinutes(-5), now.AddDays(1));
                CertificateFactory.Write(certificate, Path.Combine(directory, name + ".pem"), Path.Combine(directory, name + ".key"));
                var options = ClusterNode.Options(url, name, directory, 8, Microsoft.Extensions.Logging.LogLevel.Critical);
                options.ClusterCertFile = Path.Combine(directory, name + ".pem");
                options.ClusterKeyFile = Path.Combine(directory, name + ".key");
                options.ClusterCaFile = Path.Combine(directory, "ca.pem");
                nodes.Add(await BastionServer.StartAsync(options));
            }

            // Work through both nodes: started on one, worked through the other, so calls cross the TLS listener.
            var client = await TemporalClient.ConnectAsync(new(nodes[0].Address) { Namespace = "default" });
            var workerClient = await TemporalClient.ConnectAsync(new(nodes[1].Address) { Namespace = "default" });
            var taskQueue = ServerFixture.NewTaskQueue();
            using var worker = new TemporalWorker(workerClient, new TemporalWorkerOptions(taskQueue).AddWorkflow<ClusterTests.WaitsThenGreets>().AddAllActivities(typeof(ClusterTests.Greeter), null));
            await worker.ExecuteAsync(async () =>
            {
                foreach (var i in Enumerable.Range(0, 6))
                {
                    var id = $"tls-{i}-{Guid.NewGuid():N}";
                    var handle = await client.StartWorkflowAsync((ClusterTests.WaitsThenGreets wf) => wf.RunAsync(), new(id, taskQueue));
                    await handle.SignalAsync(wf => wf.NameAsync(id));
                    Assert.Equal($"Hello, {id}", await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60)));
                }
            });
            Assert.True(nodes.Sum(n => n.ClusterServed.Forwards + n.ClusterServed.HandOffs + n.ClusterServed.Starts) > 0, "nothing crossed the cluster listener");

            // A stranger: a certificate of another CA, then none, then plaintext; each fails before any call is served.
            var listener = nodes[0].ClusterAddress!;
            var served = nodes[0].ClusterServed;
            using var otherCa = CertificateFactory.CreateCa("another CA", now.AddMinutes(-5), now.AddDays(1));
            using var stranger = CertificateFactory.CreateNode(otherCa, "stranger", [IPAddress.Loopback], now.AddMinutes(-5), now.AddDays(1));
            // The control: a node's own certificate reaches the service, which refuses the garbage body as such.
            using var member = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(Path.Combine(directory, "tls-b.pem"), Path.Combine(directory, "tls-b.key"));
            using var usable = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(member.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
            Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => CallAsync("https://" + listener, usable))).StatusCode);
            foreach (var (scheme, certificate) in new[] { ("https://", stranger), ("https://", null), ("http://", null) })
            {
                var refused = await Assert.ThrowsAsync<RpcException>(() => CallAsync(scheme + listener, certificate));
                Assert.NotEqual(StatusCode.InvalidArgument, refused.StatusCode); // never reached the service
            }

            Assert.Equal(served, nodes[0].ClusterServed);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void TheClusterSettings_RefuseHalfTheTlsFiles_AndPlaintextOffLoopback()
    {
        var url = Bastion.Storage.Postgres.DatabaseUrl.Parse("postgres://u:p@127.0.0.1:5432/db");
        var half = Assert.Throws<ArgumentException>(() => ClusterSettings.Of(new ServerOptions { DatabaseUrl = url, ClusterAddress = "127.0.0.1:7301", ClusterCertFile = "node.pem" }));
        Assert.Contains("go together", half.Message, StringComparison.Ordinal);
        var open = Assert.Throws<ArgumentException>(() => ClusterSettings.Of(new ServerOptions { DatabaseUrl = url, ClusterAddress = "10.0.0.5:7301" }));
        Assert.Contains("loopback only", open.Message, StringComparison.Ordinal);
        var noDatabase = Assert.Throws<ArgumentException>(() => ClusterSettings.Of(new ServerOptions { ClusterAddress = "127.0.0.1:7301" }));
        Assert.Contains("--database-url", noDatabase.Message, StringComparison.Ordinal);
        Assert.Null(ClusterSettings.Of(new ServerOptions()));
    }

    private static async Task CallAsync(string address, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = new SslClientAuthenticationOptions
                {
                    EnabledSslProtocols = SslProtocols.Tls13,
                    ClientCertificates = certificate is null ? null : [certificate],
#pragma warning disable CA5359 // the test is the stranger: it trusts anything; the server must not
                    RemoteCertificateValidationCallback = static (_, _, _, _) => true,
#pragma warning restore CA5359
                },
            },
        });
        await channel.CreateCallInvoker().AsyncUnaryCall(ClusterMethods.AddTask, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), [1, 2, 3]);
    }
}
