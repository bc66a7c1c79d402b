using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Security.Authorization;
using Bastion.Security.Pipeline;
using Grpc.Core;

namespace Bastion.Security.Tls;

/// <summary>
/// Checks a client certificate against the TLS policy of the namespace its connection addresses: it must chain
/// to the namespace's CA bundle (and only to it), be valid now, allow client authentication, match a filter and,
/// when the namespace has a CRL, not be revoked. A valid certificate is a <see cref="PrincipalType.Certificate"/>
/// principal with write on that namespace only. Failures are UNAUTHENTICATED saying what was wrong.
/// </summary>
public sealed class ClientCertificateAuthenticator(NamespaceRegistry namespaces, PipelineOptions options, TimeProvider time) : IAuthenticator
{
    private const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";
    private long _lastRefresh;

    // Parsed bundles per policy instance (policies are immutable; a change is a new instance).
    private readonly ConditionalWeakTable<NamespaceTlsPolicy, ClientCaBundle> _bundles = new();

    // One connection presents one certificate object for all its calls: its verdict is kept with it while the
    // namespace entry and CRL are unchanged, so a connection's calls do not each rebuild the chain.
    private readonly ConditionalWeakTable<X509Certificate2, Verdict> _verdicts = new();
    private readonly ConcurrentDictionary<string, CrlFile> _crls = new(StringComparer.Ordinal);

    /// <summary>The connection's client certificate, checked against the namespace its TLS server name addresses; null without one.</summary>
    public async ValueTask<Principal?> AuthenticateAsync(CallContext callContext, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(callContext);
        ArgumentNullException.ThrowIfNull(context);
        if (context.GetHttpContext().Connection.ClientCertificate is not { } certificate)
        {
            return null;
        }

        if (callContext.EndpointNamespace is not { } bound)
        {
            throw Unauthenticated(
                $"Client certificates are accepted on namespace hosts (<namespace>.<account>.{options.BaseDomain}); set the TLS server name to your namespace's host.");
        }

        if (!namespaces.TryResolve(bound, out var entry) && (!await RefreshNamespacesAsync().ConfigureAwait(false) || !namespaces.TryResolve(bound, out entry)))
        {
            throw Unauthenticated($"No namespace {ServiceException.Quote(bound, 100)} is served at this host.");
        }

        return Authenticate(entry!, certificate);
    }

    public Principal Authenticate(NamespaceEntry entry, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(certificate);
        var now = time.GetUtcNow().UtcDateTime;
        var crl = entry.Tls?.CrlFile is { } path ? _crls.GetOrAdd(path, p => new CrlFile(p)).Current() : null;
        if (_verdicts.TryGetValue(certificate, out var cached)
            && ReferenceEquals(cached.Entry, entry) && ReferenceEquals(cached.Crl, crl) && now < cached.ValidUntil)
        {
            return cached.Principal;
        }

        var principal = Check(entry, certificate, crl, now);
        _verdicts.AddOrUpdate(certificate, new Verdict(entry, crl, principal, certificate.NotAfter.ToUniversalTime()));
        return principal;
    }

    private Principal Check(NamespaceEntry entry, X509Certificate2 certificate, CrlSnapshot? crl, DateTime now)
    {
        if (entry.Tls is not { } policy)
        {
            throw Unauthenticated($"Namespace {entry.FullName} accepts no client certificates: it has no CA bundle.");
        }

        ClientCaBundle bundle;
        try
        {
            bundle = _bundles.GetValue(policy, p => ClientCaBundle.Parse(p.CaBundlePem, DateTime.MinValue));
        }
        catch (ServiceException)
        {
            throw Unauthenticated($"Namespace {entry.FullName}'s CA bundle is not usable; update it.");
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(bundle.Certificates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // the namespace's own CRL is checked below
        chain.ChainPolicy.VerificationTime = now;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthenticationOid));
        var subject = ServiceException.Quote(certificate.Subject, 100);
        if (!chain.Build(certificate))
        {
            var reasons = chain.ChainStatus.Select(s => s.Status).Distinct().ToList();
            var why = reasons.Contains(X509ChainStatusFlags.NotTimeValid) ? "it is expired or not yet valid"
                : reasons.Contains(X509ChainStatusFlags.UntrustedRoot) || reasons.Contains(X509ChainStatusFlags.PartialChain) ? "it does not chain to the namespace's CA bundle"
                : reasons.Contains(X509ChainStatusFlags.NotValidForUsage) ? "it is not valid for client authentication"
                : "its chain is invalid (" + string.Join(", ", reasons) + ")";
            throw Unauthenticated($"Client certificate {subject} is refused for namespace {entry.FullName}: {why}.");
        }

        if (!CertificateFilters.Allow(policy.Filters, certificate))
        {
            throw Unauthenticated($"Client certificate {subject} matches none of namespace {entry.FullName}'s certificate filters.");
        }

        if (crl != null && policy.CrlFile != null)
        {
            var issuer = chain.ChainElements.Count > 1 ? chain.ChainElements[1].Certificate : certificate;
            CheckRevocation(crl, issuer, certificate, entry, now);
        }

        return Principal.ForCertificate(entry, certificate);
    }

    // Fail closed: with a CRL configured, a certificate whose issuer has no valid, current CRL there is refused.
    private static void CheckRevocation(CrlSnapshot crl, X509Certificate2 issuer, X509Certificate2 certificate, NamespaceEntry entry, DateTime now)
    {
        if (crl.Error is { } error)
        {
            throw Unauthenticated($"Namespace {entry.FullName}'s CRL file cannot be read ({error}); certificates are refused until it is fixed.");
        }

        var list = crl.Lists.FirstOrDefault(l => l.IsSignedBy(issuer))
            ?? throw Unauthenticated($"Namespace {entry.FullName}'s CRL file has no CRL signed by the issuer of the client certificate.");
        if (list.NextUpdate is { } next && next < now)
        {
            throw Unauthenticated($"Namespace {entry.FullName}'s CRL for the client certificate's issuer expired at {next:yyyy-MM-ddTHH:mm:ssZ}.");
        }

        if (list.Revoked.Contains(new BigInteger(certificate.SerialNumberBytes.Span, isUnsigned: false, isBigEndian: true)))
        {
            throw Unauthenticated($"Client certificate {ServiceException.Quote(certificate.Subject, 100)} is revoked.");
        }
    }

    // A namespace created by another process (the CLI on the same database) may not be cached yet: re-read the
    // store, at most once a second so that unknown host names cannot make every call read it.
    private async ValueTask<bool> RefreshNamespacesAsync()
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastRefresh);
        if (last != 0 && time.GetElapsedTime(last, now) < TimeSpan.FromSeconds(1))
        {
            return false;
        }

        if (Interlocked.CompareExchange(ref _lastRefresh, now, last) != last)
        {
            return false;
        }

        await namespaces.RefreshAsync(CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    private static ServiceException Unauthenticated(string message) => new(ErrorKind.Unauthenticated, message);

    private sealed record Verdict(NamespaceEntry Entry, CrlSnapshot? Crl, Principal Principal, DateTime ValidUntil);

    /// <summary>A CRL file's content at one moment, or why it could not be read.</summary>
    private sealed record CrlSnapshot(IReadOnlyList<CertificateRevocationList> Lists, string? Error);

    /// <summary>A CRL file, re-read when its size or modification time changes.</summary>
    private sealed class CrlFile(string path)
    {
        private readonly Lock _lock = new();
        private (DateTime, long) _stamp;
        private CrlSnapshot? _snapshot;

        public CrlSnapshot Current()
        {
            var info = new FileInfo(path);
            var stamp = info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1L);
            lock (_lock)
            {
                if (_snapshot == null || stamp != _stamp)
                {
                    _stamp = stamp;
                    _snapshot = Load(info);
                }

                return _snapshot;
            }
        }

        private static CrlSnapshot Load(FileInfo info)
        {
            try
            {
                return new CrlSnapshot(CertificateRevocationList.ParseFile(File.ReadAllBytes(info.FullName)), null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return new CrlSnapshot([], "not readable");
            }
            catch (Exception e) when (e is System.Formats.Asn1.AsnContentException or FormatException or CryptographicException)
            {
                return new CrlSnapshot([], "not a valid CRL");
            }
        }
    }
}
