using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Bastion.Storage;
using Bastion.Storage.Encryption;
using Bastion.Storage.Sqlite;

namespace Bastion.Benchmarks;

/// <summary>
/// What encryption at rest adds per stored record: AES-256-GCM encode and decode of a mutable-state-sized record,
/// against the plain codec, and the blind index of a workflow id.
/// </summary>
[MemoryDiagnoser]
public class RecordCodecBenchmarks : IDisposable
{
    private static readonly RecordIdentity s_identity = new("ns-1", "executions", "0b0e6a43-3a0e-4f5e-9b1a-1d9bbde2c0a1");
    private SqliteStorageProvider _store = null!;
    private AesGcmRecordCodec _aes = null!;
    private PlainRecordCodec _plain = null!;
    private byte[] _record = null!;
    private byte[] _encrypted = null!;

    [Params(512, 4096)]
    public int RecordBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _store = SqliteStorageProvider.OpenInMemory();
        _store.MigrateAsync(1, CancellationToken.None).GetAwaiter().GetResult();
        _aes = new AesGcmRecordCodec(new KeyRing(_store, MasterKey.Ephemeral()));
        _plain = new PlainRecordCodec();
        _record = RandomNumberGenerator.GetBytes(RecordBytes);
        _encrypted = _aes.Encode(s_identity, _record);
    }

    [Benchmark(Baseline = true)]
    public byte[] PlainEncode() => _plain.Encode(s_identity, _record);

    [Benchmark]
    public byte[] AesGcmEncode() => _aes.Encode(s_identity, _record);

    [Benchmark]
    public byte[] AesGcmDecode() => _aes.Decode(s_identity, _encrypted);

    [Benchmark]
    public string BlindIndex() => _aes.Index("ns-1", RecordIdentities.WorkflowIdIndex, "order-2026-11-29-000123");

    public void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }
}
