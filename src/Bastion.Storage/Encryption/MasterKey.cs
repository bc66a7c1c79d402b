using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Bastion.Storage.Encryption;

/// <summary>
/// The key that wraps every namespace key (AES-256-GCM, the namespace and version as associated data). It never
/// encrypts records itself, so rotating data keys never needs it changed. Its bytes are never logged.
/// </summary>
public sealed class MasterKey
{
    public const int Size = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    private MasterKey(byte[] key, string source)
    {
        _key = key;
        Source = source;
    }

    /// <summary>Where the key came from, for messages (never the key itself).</summary>
    public string Source { get; }

    /// <summary>A random key that lives as long as the process: for in-memory stores only.</summary>
    public static MasterKey Ephemeral() => new(RandomNumberGenerator.GetBytes(Size), "an ephemeral in-memory key");

    /// <summary>A key file (base64 of 32 bytes), created with mode 0600 when missing.</summary>
    public static MasterKey FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var stream = new FileStream(path, options);
            stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(Size)) + "\n"));
            stream.Flush(flushToDisk: true);
        }

        return FromBase64(File.ReadAllText(path), $"key file {path}");
    }

    /// <summary>A key given as base64 text (an environment variable, a KMS command's output).</summary>
    public static MasterKey FromBase64(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"The master key from {source} is not base64.");
        }

        return key.Length == Size
            ? new MasterKey(key, source)
            : throw new InvalidOperationException($"The master key from {source} has {key.Length} bytes; it must have {Size} (AES-256).");
    }

    /// <summary>
    /// Runs an external command (a KMS hook) that prints the key in base64 on standard output. The command line is
    /// split on spaces: the program, then its arguments.
    /// </summary>
    public static MasterKey FromCommand(string commandLine)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commandLine);
        var parts = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var start = new ProcessStartInfo(parts[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in parts.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"The master key command {parts[0]} did not start.");
        var output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0
            ? FromBase64(output, $"command {parts[0]}")
            : throw new InvalidOperationException($"The master key command {parts[0]} failed with exit code {process.ExitCode}.");
    }

    public byte[] Wrap(string namespaceId, int version, byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var result = new byte[NonceSize + TagSize + key.Length];
        var nonce = result.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, key, result.AsSpan(NonceSize + TagSize), result.AsSpan(NonceSize, TagSize), Context(namespaceId, version));
        return result;
    }

    public byte[] Unwrap(string namespaceId, int version, byte[] wrapped)
    {
        ArgumentNullException.ThrowIfNull(wrapped);
        if (wrapped.Length != NonceSize + TagSize + Size)
        {
            throw new InvalidDataException($"Key {version} of namespace {namespaceId} is damaged (length {wrapped.Length}).");
        }

        var key = new byte[Size];
        using var aes = new AesGcm(_key, TagSize);
        try
        {
            aes.Decrypt(wrapped.AsSpan(0, NonceSize), wrapped.AsSpan(NonceSize + TagSize), wrapped.AsSpan(NonceSize, TagSize), key, Context(namespaceId, version));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new InvalidOperationException(
                $"The master key ({Source}) does not open key {version} of namespace {namespaceId}: this database was encrypted with another master key.");
        }

        return key;
    }

    private static byte[] Context(string namespaceId, int version) => Encoding.UTF8.GetBytes($"bastion-namespace-key\0{namespaceId}\0{version}");
}
