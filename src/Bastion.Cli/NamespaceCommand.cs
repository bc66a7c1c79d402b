using System.CommandLine;
using System.Globalization;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.RateLimits;
using Bastion.Security.Tls;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion namespace create|describe|update</c>: namespaces and their TLS policy (client CA bundle, certificate
/// filters, CRL). They work on the server's database directly (<c>--db-filename</c> or <c>--database-url</c>), as its operator (see
/// <see cref="DatabaseFile"/>); a running server picks the change up within seconds (at once for a namespace host it
/// has not seen). Users, service accounts and keys are managed over the Cloud Ops API instead.
/// </summary>
internal static class NamespaceCommand
{
    public static Command Create()
    {
        var command = new Command("namespace", "Manage namespaces and their mTLS settings in a server's database.");
        command.Subcommands.Add(CreateCommand());
        command.Subcommands.Add(DescribeCommand());
        command.Subcommands.Add(UpdateCommand());
        return command;
    }

    private static Command CreateCommand()
    {
        var common = new Common();
        var retention = new Option<int>("--retention-days") { Description = "Retention of closed workflows, 1–90 days.", DefaultValueFactory = _ => 1 };
        var command = new Command("create", "Create a namespace, optionally with its client CA bundle and certificate filters.");
        common.AddTo(command);
        command.Options.Add(retention);
        command.SetAction((parse, _) => common.RunAsync(parse, async registry =>
        {
            var days = parse.GetValue(retention);
            if (days is < 1 or > 90)
            {
                throw ServiceException.InvalidArgument($"--retention-days {days}: retention is 1 to 90 days.");
            }

            var policy = common.Policy(parse, null);
            var codec = common.CodecServer(parse, null).Setting is { } given ? CodecServerEndpoints.Validate(given) : null; // before creating: a bad setting creates nothing
            var entry = await registry.CreateAsync(parse.GetValue(common.Name)!, parse.GetValue(common.Account)!, TimeSpan.FromDays(days), policy).ConfigureAwait(false);
            if (codec != null)
            {
                entry = await registry.SetCodecServerAsync(entry, codec).ConfigureAwait(false);
            }

            Console.WriteLine($"Created namespace {entry.FullName}.");
            Print(entry);
        }));
        return command;
    }

    private static Command DescribeCommand()
    {
        var common = new Common(withPolicy: false);
        var command = new Command("describe", "Show a namespace and its TLS policy, with CAs that expire within 15 days.");
        common.AddTo(command);
        command.SetAction((parse, _) => common.RunAsync(parse, registry =>
        {
            Print(common.Find(parse, registry));
            return Task.CompletedTask;
        }));
        return command;
    }

    private static Command UpdateCommand()
    {
        var common = new Common();
        var capacity = new Option<string?>("--capacity")
        {
            Description = $"on-demand (the server's --namespace-rps/--namespace-aps) or provisioned Temporal Resource Units, {NamespaceLimits.MinUnits} to {NamespaceLimits.MaxUnits}: one unit is {NamespaceLimits.ActionsPerUnit} actions and {NamespaceLimits.RequestsPerUnit} requests per second.",
        };
        var command = new Command("update", "Change a namespace's TLS policy, codec server or capacity: the options given replace the current values.") { capacity };
        common.AddTo(command);
        command.SetAction((parse, _) => common.RunAsync(parse, async registry =>
        {
            var entry = common.Find(parse, registry);
            if (parse.GetValue(capacity) is { } given)
            {
                entry = await registry.UpdateAsync(entry with { ProvisionedCapacity = CapacityUnits(given) }).ConfigureAwait(false);
            }

            entry = await registry.SetTlsAsync(entry, common.Policy(parse, entry.Tls)).ConfigureAwait(false);
            if (common.CodecServer(parse, entry.CodecServer) is var (changed, codec) && changed)
            {
                entry = await registry.SetCodecServerAsync(entry, codec).ConfigureAwait(false);
            }

            Console.WriteLine($"Updated namespace {entry.FullName}.");
            Print(entry);
        }));
        return command;
    }

    /// <summary>--capacity's value: null for on-demand, or provisioned units.</summary>
    private static double? CapacityUnits(string value)
    {
        if (value == "on-demand")
        {
            return null;
        }

        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var units) && NamespaceLimits.Invalid(units) is null
            ? units
            : throw ServiceException.InvalidArgument($"--capacity {value}: expected on-demand or a number of units from {NamespaceLimits.MinUnits} to {NamespaceLimits.MaxUnits}.");
    }

    private static void Print(NamespaceEntry entry)
    {
        Console.WriteLine($"  Namespace:  {entry.FullName} (id {entry.Id})");
        Console.WriteLine($"  Retention:  {entry.Retention.TotalDays:0} days");
        Console.WriteLine(entry.ProvisionedCapacity is { } units
            ? FormattableString.Invariant($"  Capacity:   provisioned, {units} units ({units * NamespaceLimits.ActionsPerUnit} actions and {units * NamespaceLimits.RequestsPerUnit} requests per second)")
            : "  Capacity:   on-demand (the server's default limits)");
        Console.WriteLine(entry.CodecServer is { } codec
            ? $"  Codec:      {codec.Endpoint} (pass access token: {(codec.PassAccessToken ? "yes" : "no")}, cross-origin credentials: {(codec.IncludeCrossOriginCredentials ? "yes" : "no")})"
            : "  Codec:      no codec server");
        if (entry.Tls is not { } tls)
        {
            Console.WriteLine("  mTLS:       no CA bundle: no client certificate is accepted");
            return;
        }

        foreach (var ca in ClientCaBundle.Parse(tls.CaBundlePem, DateTime.MinValue).Certificates)
        {
            Console.WriteLine($"  CA:         {ClientCaBundle.Describe(ca)}");
        }

        Console.WriteLine(tls.Filters.Count == 0 ? "  Filters:    none (any certificate of the bundle)" : "  Filters:");
        foreach (var filter in tls.Filters)
        {
            Console.WriteLine($"    {CertificateFilterSyntax.Format(filter)}");
        }

        Console.WriteLine($"  CRL:        {tls.CrlFile ?? "none"}");
        foreach (var expiring in NamespaceTlsPolicies.ExpiringCas(entry, DateTime.UtcNow))
        {
            Console.WriteLine($"  Warning:    CA {expiring}");
        }
    }

    /// <summary>The options every namespace command shares, and running one against the database.</summary>
    private sealed class Common
    {
        private readonly bool _withPolicy;
        private readonly DatabaseOptions _database = new();
        private readonly Option<string?> _caFile = new("--ca-certificate-file") { Description = "Client CA bundle (PEM; concatenate old and new CAs to rotate)." };
        private readonly Option<string[]> _filters = new("--certificate-filter") { Description = "Certificate filter 'cn=…;o=…;ou=…;san=…' (repeatable; replaces all filters).", AllowMultipleArgumentsPerToken = false };
        private readonly Option<bool> _clearFilters = new("--clear-certificate-filters") { Description = "Remove all certificate filters." };
        private readonly Option<string?> _crlFile = new("--crl-file") { Description = "CRL file (PEM or DER) the server reads to refuse revoked certificates." };
        private readonly Option<bool> _noCrl = new("--no-crl") { Description = "Stop checking a CRL." };
        private readonly Option<string?> _codecEndpoint = new("--codec-endpoint") { Description = "The namespace's codec server (https URL) the UI uses to decode payloads." };
        private readonly Option<bool> _codecPassToken = new("--codec-pass-access-token") { Description = "The UI passes the user's access token to the codec server." };
        private readonly Option<bool> _codecCredentials = new("--codec-include-credentials") { Description = "The UI includes cross-origin credentials in codec-server requests." };
        private readonly Option<bool> _noCodec = new("--no-codec-server") { Description = "Remove the codec-server setting." };

        public Common(bool withPolicy = true) => _withPolicy = withPolicy;

        public Option<string> Name { get; } = new("--namespace", "-n") { Description = "Namespace name.", Required = true };

        public Option<string> Account { get; } = new("--account") { Description = "The namespace's account.", Required = true };

        public void AddTo(Command command)
        {
            _database.AddTo(command);
            command.Options.Add(Name);
            command.Options.Add(Account);
            if (_withPolicy)
            {
                command.Options.Add(_caFile);
                command.Options.Add(_filters);
                command.Options.Add(_clearFilters);
                command.Options.Add(_crlFile);
                command.Options.Add(_noCrl);
                command.Options.Add(_codecEndpoint);
                command.Options.Add(_codecPassToken);
                command.Options.Add(_codecCredentials);
                command.Options.Add(_noCodec);
            }
        }

        public Task<int> RunAsync(ParseResult parse, Func<NamespaceRegistry, Task> action) =>
            DatabaseFile.RunAsync(_database, parse, (namespaces, _) => action(namespaces));

        public NamespaceEntry Find(ParseResult parse, NamespaceRegistry registry) =>
            registry.Resolve($"{parse.GetValue(Name)}.{parse.GetValue(Account)}");

        /// <summary>Whether the options change the codec-server setting, and to what.</summary>
        public (bool Changed, NamespaceCodecServer? Setting) CodecServer(ParseResult parse, NamespaceCodecServer? current)
        {
            if (parse.GetValue(_noCodec))
            {
                return (true, null);
            }

            var endpoint = parse.GetValue(_codecEndpoint) ?? current?.Endpoint;
            var flagsGiven = parse.GetResult(_codecPassToken) is { Implicit: false } || parse.GetResult(_codecCredentials) is { Implicit: false };
            if (parse.GetValue(_codecEndpoint) is null && !flagsGiven)
            {
                return (false, current);
            }

            return endpoint is null
                ? throw ServiceException.InvalidArgument("--codec-pass-access-token and --codec-include-credentials need --codec-endpoint.")
                : (true, new NamespaceCodecServer(endpoint, parse.GetValue(_codecPassToken), parse.GetValue(_codecCredentials)));
        }

        /// <summary>The policy the options describe on top of <paramref name="current"/>, validated; null if none.</summary>
        public NamespaceTlsPolicy? Policy(ParseResult parse, NamespaceTlsPolicy? current)
        {
            var bundle = parse.GetValue(_caFile) is { } caFile ? ReadFile(caFile, "--ca-certificate-file") : current?.CaBundlePem;
            var filters = parse.GetValue(_filters) is { Length: > 0 } given ? given.Select(CertificateFilterSyntax.Parse).ToList()
                : parse.GetValue(_clearFilters) ? [] : current?.Filters ?? [];
            var crl = parse.GetValue(_noCrl) ? null : parse.GetValue(_crlFile) is { } crlFile ? Path.GetFullPath(crlFile) : current?.CrlFile;
            if (bundle is null)
            {
                return filters.Count > 0 || crl != null
                    ? throw ServiceException.InvalidArgument("Certificate filters and a CRL need a CA bundle: give --ca-certificate-file.")
                    : null;
            }

            return NamespaceTlsPolicies.Validate(new NamespaceTlsPolicy { CaBundlePem = bundle, Filters = filters, CrlFile = crl }, DateTime.UtcNow);
        }

        private static string ReadFile(string path, string option)
        {
            try
            {
                var info = new FileInfo(path);
                return info.Exists && info.Length > ClientCaBundle.MaxBytes * 2
                    ? throw ServiceException.InvalidArgument($"{option} {path}: the file is larger than a CA bundle may be (32 KiB).")
                    : File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw ServiceException.InvalidArgument($"{option} {path}: {e.Message}");
            }
        }
    }
}
