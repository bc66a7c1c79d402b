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
    private readonly SemaphoreSlim _passLock = new(1, 1);
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

    public static async Task<EncryptionAtRest> CreateAsync(ServerOptions options, IStorageProvider store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        await store.MigrateAsync(options.ShardCount, cancellationToken).ConfigureAwait(false);
        var mode = await store.Metadata.EnsureClusterSettingAsync(SettingKey, options.Encryption ? Encrypted : Plain, cancellationToken).ConfigureAwait(false);
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
            keys = new KeyRing(store.Metadata, LoadMasterKey(options, Environment.GetEnvironmentVariable(EnvironmentVariable)));
            await keys.RefreshAsync(cancellationToken).ConfigureAwait(false); // a wrong master key fails the start here, not at the first read
        }
        catch (Exception e) when (e is InvalidOperationException or InvalidDataException or IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            // A setting the operator must fix: reported like the other start settings (a message, exit code 2).
            throw new ArgumentException(e.Message, e);
        }

        var codec = new AesGcmRecordCodec(keys);
        return new EncryptionAtRest(codec, keys, new ReEncryptor(store.Records, keys, codec));
    }

    /// <summary>
    /// The codec of an existing database for offline tools (the audit commands): plain unless the database was
    /// written encrypted, then the key ring opened with the master key from the usual sources.
    /// </summary>
    public static async Task<IRecordCodec> CodecOfExistingAsync(IStorageProvider store, ServerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (await store.Metadata.ReadClusterSettingAsync(SettingKey, cancellationToken).ConfigureAwait(false) != Encrypted)
        {
            return new PlainRecordCodec();
        }

        var keys = new KeyRing(store.Metadata, LoadMasterKey(options, Environment.GetEnvironmentVariable(EnvironmentVariable)));
        await keys.RefreshAsync(cancellationToken).ConfigureAwait(false);
        return new AesGcmRecordCodec(keys);
    }

    /// <summary>
    /// The master key: the command, else the environment variable, else the key file (in-memory stores: an ephemeral
    /// key; PostgreSQL: no default file, one of the three is required).
    /// </summary>
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

        if (options.MasterKeyFile is null && options.DatabaseUrl is not null)
        {
            // No file to put a key beside, and an ephemeral key would make the durable records unreadable after a restart.
            throw new InvalidOperationException(
                $"A PostgreSQL database has no default master key file: give --master-key-file, {EnvironmentVariable} (base64) or --master-key-command.");
        }

        var file = options.MasterKeyFile ?? DefaultKeyFile(options.DatabaseFile);
        return file is null ? MasterKey.Ephemeral() : MasterKey.FromFile(file);
    }

    /// <summary>The default key file of a database: <c>&lt;database&gt;.master-key</c> next to it.</summary>
    public static string? DefaultKeyFile(string? databaseFile) => databaseFile is null ? null : databaseFile + ".master-key";

    /// <summary>Starts the background re-encryption (and the pick-up of key versions made by <c>bastion keys rotate</c>).</summary>
    /// <param name="active">Whether this process re-encrypts now: in a cluster only the holder of shard 0 (one pass at a time cluster-wide).</param>
    public void StartBackground(TimeProvider time, TimeSpan interval, ILogger logger, Func<bool> active)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(active);
        _logger = logger;
        if (_reEncryptor != null)
        {
            _timer = LongTimer.Create(time, _ => _ = active() ? RunPassAsync() : Task.CompletedTask, null, interval, interval);
        }
    }

    /// <summary>One re-encryption pass now (also run at the interval); returns records moved and versions retired.</summary>
    public async Task<(int Moved, int Retired)> RunPassAsync()
    {
        if (_reEncryptor is null)
        {
            return (0, 0);
        }

        await _passLock.WaitAsync().ConfigureAwait(false);
        try
        {
            try
            {
                var (moved, retired) = await _reEncryptor.RunPassAsync(CancellationToken.None).ConfigureAwait(false);
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
        finally
        {
            _passLock.Release();
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _passLock.Dispose();
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Re-encryption: {Moved} records moved to their namespace's current key; {Retired} old key versions retired.")]
    private static partial void LogReEncrypted(ILogger logger, int moved, int retired);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Error, Message = "Re-encryption pass failed; it runs again at the next interval.")]
    private static partial void LogReEncryptionFailed(ILogger logger, Exception e);
}
