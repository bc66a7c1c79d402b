using System.Net;
using System.Security.Cryptography.X509Certificates;
using Bastion.Engine.Namespaces;
using Bastion.Security.Tls;
using Bastion.Server;
using Bastion.Server.Tls;

namespace Bastion.Cli;

/// <summary>
/// <c>start-dev --tls</c>: a local CA (kept, so clients trust it across restarts), a server certificate for
/// <c>localhost</c>, <c>*.local.localhost</c>, 127.0.0.1 and ::1, and a client certificate that namespace
/// <c>default</c> accepts, for trying mTLS. Loopback callers still need no credentials in dev mode.
/// </summary>
internal sealed class DevTls
{
    public const string BaseDomain = "localhost";

    private DevTls(string directory) => Directory = directory;

    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.pem");

    public string ServerCertificateFile => Path.Combine(Directory, "server.pem");

    public string ServerKeyFile => Path.Combine(Directory, "server.key");

    public string ClientCertificateFile => Path.Combine(Directory, "client.pem");

    public string ClientKeyFile => Path.Combine(Directory, "client.key");

    private string CaKeyFile => Path.Combine(Directory, "ca.key");

    public static string DefaultDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "bastion", "dev-tls");

    /// <summary>Creates what is missing; the CA is reused, the server and client certificates are renewed when they near expiry.</summary>
    public static DevTls Prepare(string directory)
    {
        var tls = new DevTls(Path.GetFullPath(directory));
        System.IO.Directory.CreateDirectory(tls.Directory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tls.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var now = DateTimeOffset.UtcNow;
        X509Certificate2 ca;
        var newCa = !File.Exists(tls.CaFile) || !File.Exists(tls.CaKeyFile);
        if (newCa)
        {
            ca = CertificateFactory.CreateCa("Bastion dev CA", now.AddMinutes(-5), now.AddYears(5));
            CertificateFactory.Write(ca, tls.CaFile, tls.CaKeyFile);
        }
        else
        {
            ca = X509Certificate2.CreateFromPemFile(tls.CaFile, tls.CaKeyFile);
        }

        using (ca)
        {
            if (newCa || NeedsRenewal(tls.ServerCertificateFile, now))
            {
                using var server = CertificateFactory.CreateServer(
                    ca, [BaseDomain, $"*.{NamespaceRegistry.DevAccount}.{BaseDomain}"], [IPAddress.Loopback, IPAddress.IPv6Loopback], now.AddMinutes(-5), now.AddDays(365));
                CertificateFactory.Write(server, tls.ServerCertificateFile, tls.ServerKeyFile);
            }

            if (newCa || NeedsRenewal(tls.ClientCertificateFile, now))
            {
                using var client = CertificateFactory.CreateClient(ca, "bastion-dev-client", null, null, [], now.AddMinutes(-5), now.AddDays(365));
                CertificateFactory.Write(client, tls.ClientCertificateFile, tls.ClientKeyFile);
            }
        }

        return tls;
    }

    /// <summary>Namespace <c>default</c> trusts the dev CA (unless it already has a TLS policy).</summary>
    public async Task TrustForDefaultNamespaceAsync(BastionServer server)
    {
        var entry = server.Namespaces.Resolve("default");
        if (entry.Tls is null)
        {
            var policy = NamespaceTlsPolicies.Validate(new NamespaceTlsPolicy { CaBundlePem = await File.ReadAllTextAsync(CaFile).ConfigureAwait(false) }, DateTime.UtcNow);
            await server.Namespaces.SetTlsAsync(entry, policy).ConfigureAwait(false);
        }
    }

    public void PrintHowToConnect(string address)
    {
        Console.WriteLine($"  TLS:        TLS 1.3; CA {CaFile}");
        Console.WriteLine($"    temporal workflow list --address {address} --namespace default --tls-ca-path {CaFile} --tls-server-name {BaseDomain}");
        Console.WriteLine($"  mTLS:       namespace default's host is default.{NamespaceRegistry.DevAccount}.{BaseDomain}; a client certificate of the dev CA:");
        Console.WriteLine($"    temporal workflow list --address {address} --namespace default --tls-ca-path {CaFile} --tls-server-name default.{NamespaceRegistry.DevAccount}.{BaseDomain} --tls-cert-path {ClientCertificateFile} --tls-key-path {ClientKeyFile}");
    }

    private static bool NeedsRenewal(string file, DateTimeOffset now)
    {
        if (!File.Exists(file))
        {
            return true;
        }

        using var certificate = X509Certificate2.CreateFromPemFile(file);
        return certificate.NotAfter.ToUniversalTime() < now.UtcDateTime.AddDays(30);
    }
}
