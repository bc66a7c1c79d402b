using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bastion.Server.Tls;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion certs</c>: a CA for a namespace's clients, client certificates signed by it, and server
/// certificates. Keys are written readable by their owner only; existing files are never overwritten.
/// </summary>
internal static class CertsCommand
{
    public static Command Create()
    {
        var certs = new Command("certs", "Create CAs, client, server and cluster node certificates (PEM).");
        var ca = new Command("ca", "Certificate authorities.");
        ca.Subcommands.Add(CreateCa());
        var client = new Command("client", "Client certificates for mTLS.");
        client.Subcommands.Add(CreateClient());
        var server = new Command("server", "Server certificates.");
        server.Subcommands.Add(CreateServer());
        certs.Subcommands.Add(ca);
        certs.Subcommands.Add(client);
        certs.Subcommands.Add(server);
        var node = new Command("node", "Cluster node certificates (the cluster's mutual TLS).");
        node.Subcommands.Add(CreateNode());
        certs.Subcommands.Add(node);
        return certs;
    }

    private static Command CreateCa()
    {
        var cn = new Option<string>("--cn") { Description = "The CA's common name.", DefaultValueFactory = _ => "Bastion client CA" };
        var days = Days(365 * 2);
        var (certFile, keyFile) = Outputs("ca");
        var command = new Command("create", "Create a CA (self-signed, ECDSA P-256, SHA-256) for a namespace's client certificates.") { cn, days, certFile, keyFile };
        command.SetAction(parse => Run(parse, certFile, keyFile, () =>
        {
            var now = DateTimeOffset.UtcNow;
            return CertificateFactory.CreateCa(parse.GetValue(cn)!, now.AddMinutes(-5), now.AddDays(parse.GetValue(days)));
        }));
        return command;
    }

    private static Command CreateClient()
    {
        var (caFile, caKeyFile) = CaInputs();
        var cn = new Option<string>("--cn") { Description = "Common name (what certificate filters match as CN).", Required = true };
        var o = new Option<string?>("--organization", "-o") { Description = "Organization (O)." };
        var ou = new Option<string?>("--organizational-unit", "--ou") { Description = "Organizational unit (OU)." };
        var san = new Option<string[]>("--san") { Description = "DNS subject alternative name (repeatable).", AllowMultipleArgumentsPerToken = false };
        var days = Days(90);
        var (certFile, keyFile) = Outputs("client");
        var command = new Command("create", "Create a client certificate signed by a CA.") { caFile, caKeyFile, cn, o, ou, san, days, certFile, keyFile };
        command.SetAction(parse => Run(parse, certFile, keyFile, () =>
        {
            using var issuer = LoadCa(parse.GetValue(caFile)!, parse.GetValue(caKeyFile));
            var now = DateTimeOffset.UtcNow;
            return CertificateFactory.CreateClient(issuer, parse.GetValue(cn)!, parse.GetValue(o), parse.GetValue(ou), parse.GetValue(san) ?? [], now.AddMinutes(-5), now.AddDays(parse.GetValue(days)));
        }));
        return command;
    }

    private static Command CreateServer()
    {
        var (caFile, caKeyFile) = CaInputs();
        var dns = new Option<string[]>("--dns") { Description = "DNS name (repeatable), e.g. example.com and *.acme.example.com.", AllowMultipleArgumentsPerToken = false };
        var ip = new Option<string[]>("--ip") { Description = "IP address (repeatable).", AllowMultipleArgumentsPerToken = false };
        var days = Days(365);
        var (certFile, keyFile) = Outputs("server");
        var command = new Command("create", "Create a server certificate signed by a CA: for <base-domain> and *.<account>.<base-domain>.") { caFile, caKeyFile, dns, ip, days, certFile, keyFile };
        command.SetAction(parse => Run(parse, certFile, keyFile, () =>
        {
            var names = parse.GetValue(dns) ?? [];
            var addresses = (parse.GetValue(ip) ?? []).Select(a => IPAddress.TryParse(a, out var address) ? address : throw new ArgumentException($"--ip {a} is not an IP address.")).ToList();
            if (names.Length == 0 && addresses.Count == 0)
            {
                throw new ArgumentException("Give at least one --dns or --ip.");
            }

            using var issuer = LoadCa(parse.GetValue(caFile)!, parse.GetValue(caKeyFile));
            var now = DateTimeOffset.UtcNow;
            return CertificateFactory.CreateServer(issuer, names, addresses, now.AddMinutes(-5), now.AddDays(parse.GetValue(days)));
        }));
        return command;
    }

    private static Command CreateNode()
    {
        var (caFile, caKeyFile) = CaInputs();
        var name = new Option<string>("--name") { Description = "The node's name (its --node-name).", Required = true };
        var ip = new Option<string[]>("--ip") { Description = "The IP address other nodes reach it at (repeatable).", AllowMultipleArgumentsPerToken = false };
        var days = Days(365);
        var (certFile, keyFile) = Outputs("node");
        var command = new Command("create", "Create a cluster node's certificate signed by the cluster CA: it serves the node's cluster listener and is its client certificate towards the other nodes.")
        {
            caFile, caKeyFile, name, ip, days, certFile, keyFile,
        };
        command.SetAction(parse => Run(parse, certFile, keyFile, () =>
        {
            var addresses = (parse.GetValue(ip) ?? []).Select(a => IPAddress.TryParse(a, out var address) ? address : throw new ArgumentException($"--ip {a} is not an IP address.")).ToList();
            using var issuer = LoadCa(parse.GetValue(caFile)!, parse.GetValue(caKeyFile));
            var now = DateTimeOffset.UtcNow;
            return CertificateFactory.CreateNode(issuer, parse.GetValue(name)!, addresses, now.AddMinutes(-5), now.AddDays(parse.GetValue(days)));
        }));
        return command;
    }

    private static int Run(ParseResult parse, Option<string> certFile, Option<string> keyFile, Func<X509Certificate2> create)
    {
        var certificatePath = parse.GetValue(certFile)!;
        var keyPath = parse.GetValue(keyFile)!;
        try
        {
            foreach (var path in new[] { certificatePath, keyPath })
            {
                if (File.Exists(path))
                {
                    throw new ArgumentException($"{path} exists; not overwriting it (remove it or choose another --cert-file/--key-file).");
                }
            }

            using var certificate = create();
            CertificateFactory.Write(certificate, certificatePath, keyPath);
            Console.WriteLine($"Wrote {certificatePath} (certificate, {certificate.Subject}, valid until {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}) and {keyPath} (private key, owner-only).");
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or CryptographicException)
        {
            Console.Error.WriteLine(e.Message);
            return e is ArgumentException ? 2 : 1;
        }
    }

    private static X509Certificate2 LoadCa(string certificateFile, string? keyFile)
    {
        var key = keyFile ?? Path.ChangeExtension(certificateFile, ".key");
        var ca = X509Certificate2.CreateFromPemFile(certificateFile, key);
        return ca.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: true }
            ? ca
            : throw new ArgumentException($"{certificateFile} is not a CA certificate.");
    }

    private static (Option<string> Ca, Option<string?> CaKey) CaInputs() => (
        new Option<string>("--ca") { Description = "The CA certificate (PEM).", Required = true },
        new Option<string?>("--ca-key") { Description = "The CA's private key (PEM); default: the --ca file with extension .key." });

    private static Option<int> Days(int fallback) => new("--days") { Description = "Validity in days.", DefaultValueFactory = _ => fallback };

    private static (Option<string> Certificate, Option<string> Key) Outputs(string name) => (
        new Option<string>("--cert-file") { Description = "Where to write the certificate.", DefaultValueFactory = _ => name + ".pem" },
        new Option<string>("--key-file") { Description = "Where to write the private key.", DefaultValueFactory = _ => name + ".key" });
}
