using Bastion.Engine.Tasks;
using Bastion.Storage;
using Bastion.Storage.Encryption;
using Microsoft.Extensions.Logging;

namespace Bastion.Server;

/// <summary>
/// Chooses the record codec: AES-256-GCM with per-namespace keys wrapped by the master key (the default), or plain
/// for a database written without encryption. A database is one or the other for life: the choice is recorded in
/// the store when it is created, and a server asked for the other refuses to start.
/// </summary>
internal sealed partial class EncryptionAtRest : IDisposable
{
    public const string EnvironmentVariable = "BASTION_MASTER_KEY";
    private const string SettingKey = "encryption";
    private const string Encrypted = "aes-256-gcm";
    private const string Plain = "none";
    private readonly ReEncryptor? _reEncryptor;
    private readonly Lock _passLock = new();
    private ITimer? _timer;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    private EncryptionAtRest(IRecordCodec codec, KeyRing? keys, ReEncryptor? reEncryptor)
    {
        Codec = codec;
        Keys = keys;
        _reEncryptor = reEncryptor;
    }

    public IRecordCodec Codec { get; }

    /// <summary>The key ring; null when encryption is off.</summary>
    public KeyRing? Keys { get; }

    public static EncryptionAtRest Create(ServerOptions options, IExecutionStore store)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        store.Initialize(options.ShardCount);
        var mode = store.EnsureClusterSetting(SettingKey, options.Encryption ? Encrypted : Plain);
        if (mode == Plain && options.Encryption)
        {
            throw new ArgumentException(
                "This database was written without encryption at rest (by an earlier Bastion, or with --encryption off) and is not converted in place. "
                + "Start it with --encryption off, or start a new database with encryption on.");
        }

        if (mode == Encrypted && !options.Encryption)
        {
            throw new ArgumentException("This database is encrypted at rest; encryption cannot be turned off for it (drop --encryption off).");
        }

        if (mode == Plain)
        {
            return new EncryptionAtRest(new PlainRecordCodec(), null, null);
        }

        KeyRing keys;
        try
        {
            keys = new KeyRing(store, LoadMasterKey(options, Environment.GetEnvironmentVariable(EnvironmentVariable)));
            keys.Refresh(); // a wrong master key fails the start here, not at the first read
        }
        catch (Exception e) when (e is InvalidOperationException or InvalidDataException or IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            // A setting the operator must fix: reported like the other start settings (a message, exit code 2).
            throw new ArgumentException(e.Message, e);
        }

        var codec = new AesGcmRecordCodec(keys);
        return new EncryptionAtRest(codec, keys, new ReEncryptor(store, keys, codec));
    }

    /// <summary>
    /// The codec of an existing database for offline tools (the audit commands): plain unless the database was
    /// written encrypted, then the key ring opened with the master key from the usual sources.
    /// </summary>
    public static IRecordCodec CodecOfExisting(Storage.Sqlite.SqliteExecutionStore store, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.ReadClusterSetting(SettingKey) != Encrypted)
        {
            return new PlainRecordCodec();
        }

        var keys = new KeyRing(store, LoadMasterKey(options, Environment.GetEnvironmentVariable(EnvironmentVariable)));
        keys.Refresh();
        return new AesGcmRecordCodec(keys);
    }

    /// <summary>The master key: the command, else the environment variable, else the key file (in-memory stores: an ephemeral key).</summary>
    public static MasterKey LoadMasterKey(ServerOptions options, string? environmentValue)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MasterKeyCommand is { } command)
        {
            return MasterKey.FromCommand(command);
        }

        if (!string.IsNullOrWhiteSpace(environmentValue))
        {
            return MasterKey.FromBase64(environmentValue, $"environment variable {EnvironmentVariable}");
        }

        var file = options.MasterKeyFile ?? DefaultKeyFile(options.DatabaseFile);
        return file is null ? MasterKey.Ephemeral() : MasterKey.FromFile(file);
    }

    /// <summary>The default key file of a database: <c>&lt;database&gt;.master-key</c> next to it.</summary>
    public static string? DefaultKeyFile(string? databaseFile) => databaseFile is null ? null : databaseFile + ".master-key";

    /// <summary>Starts the background re-encryption (and the pick-up of key versions made by <c>bastion keys rotate</c>).</summary>
    public void StartBackground(TimeProvider time, TimeSpan interval, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(time);
        _logger = logger;
        if (_reEncryptor != null)
        {
            _timer = LongTimer.Create(time, _ => RunPass(), null, interval, interval);
        }
    }

    /// <summary>One re-encryption pass now (also run at the interval); returns records moved and versions retired.</summary>
    public (int Moved, int Retired) RunPass()
    {
        if (_reEncryptor is null)
        {
            return (0, 0);
        }

        lock (_passLock)
        {
            try
            {
                var (moved, retired) = _reEncryptor.RunPass();
                if (moved > 0 || retired > 0)
                {
                    LogReEncrypted(_logger, moved, retired);
                }

                return (moved, retired);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogReEncryptionFailed(_logger, e);
                return (0, 0);
            }
        }
    }

    public void Dispose() => _timer?.Dispose();

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Re-encryption: {Moved} records moved to their namespace's current key; {Retired} old key versions retired.")]
    private static partial void LogReEncrypted(ILogger logger, int moved, int retired);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Error, Message = "Re-encryption pass failed; it runs again at the next interval.")]
    private static partial void LogReEncryptionFailed(ILogger logger, Exception e);
}
