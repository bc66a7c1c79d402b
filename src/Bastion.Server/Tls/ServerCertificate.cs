using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Bastion.Server.Tls;

/// <summary>
/// The server's certificate and key from PEM files, reloaded when either file changes (checked at each TLS
/// handshake: a stat of two files), so a renewed certificate is served without a restart. A file caught half
/// written keeps the previous certificate in service.
/// </summary>
internal sealed partial class ServerCertificate
{
    private readonly string _certificateFile;
    private readonly string _keyFile;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private (DateTime, long, DateTime, long) _stamp;
    private SslStreamCertificateContext _context;

    /// <summary>Loads the files now: a server must not start with a certificate it cannot use.</summary>
    public ServerCertificate(string certificateFile, string keyFile, ILogger logger)
    {
        _certificateFile = Path.GetFullPath(certificateFile);
        _keyFile = Path.GetFullPath(keyFile);
        _logger = logger;
        _stamp = Stamp();
        try
        {
            _context = Load();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new ArgumentException($"Cannot use the server certificate {certificateFile} with key {keyFile}: {e.Message}", e);
        }
    }

    public X509Certificate2 Certificate => Current.TargetCertificate;

    public SslStreamCertificateContext Current
    {
        get
        {
            var stamp = Stamp();
            lock (_lock)
            {
                if (stamp != _stamp)
                {
                    _stamp = stamp;
                    try
                    {
                        _context = Load();
                        var notAfter = _context.TargetCertificate.NotAfter.ToUniversalTime();
                        LogReloaded(_logger, _certificateFile, notAfter);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
                    {
                        LogReloadFailed(_logger, _certificateFile, e.Message);
                    }
                }

                return _context;
            }
        }
    }

    private SslStreamCertificateContext Load()
    {
        // The certificate file may carry intermediates after the leaf; they are sent with it.
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(_certificateFile);
        using var withKey = X509Certificate2.CreateFromPemFile(_certificateFile, _keyFile);
        var leaf = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        var intermediates = new X509Certificate2Collection();
        intermediates.AddRange(all.Skip(1).ToArray());
        return SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
    }

    private (DateTime, long, DateTime, long) Stamp()
    {
        var certificate = new FileInfo(_certificateFile);
        var key = new FileInfo(_keyFile);
        return (certificate.Exists ? certificate.LastWriteTimeUtc : default, certificate.Exists ? certificate.Length : -1,
            key.Exists ? key.LastWriteTimeUtc : default, key.Exists ? key.Length : -1);
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Server certificate reloaded from {File}; valid until {NotAfter:u}.")]
    private static partial void LogReloaded(ILogger logger, string file, DateTime notAfter);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Server certificate {File} changed but cannot be loaded ({Reason}); the previous certificate stays in service.")]
    private static partial void LogReloadFailed(ILogger logger, string file, string reason);
}
