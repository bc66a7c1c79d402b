namespace Bastion.Security.Audit;

/// <summary>The kinds of export sink.</summary>
public enum AuditExportKind
{
    File,
    Http,
    Stdout,
}

/// <summary>
/// One export sink as configured: <c>stdout</c>, <c>file:PATH</c> (JSON lines, rotated at <see cref="MaxFileBytes"/>,
/// <see cref="MaxFiles"/> kept) or an <c>http://</c> / <c>https://</c> URL (batched POSTs of JSON lines).
/// </summary>
public sealed record AuditExportSpec(AuditExportKind Kind, string Target)
{
    public long MaxFileBytes { get; init; } = 100L * 1024 * 1024;

    public int MaxFiles { get; init; } = 10;

    public int BatchSize { get; init; } = 500;

    public static AuditExportSpec Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        if (text == "stdout")
        {
            return new AuditExportSpec(AuditExportKind.Stdout, "stdout");
        }

        if (text.StartsWith("file:", StringComparison.Ordinal) && text.Length > "file:".Length)
        {
            return new AuditExportSpec(AuditExportKind.File, Path.GetFullPath(text["file:".Length..]));
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return new AuditExportSpec(AuditExportKind.Http, uri.ToString());
        }

        throw new ArgumentException($"Audit export '{text}' is none of: stdout, file:PATH, http(s)://URL.");
    }
}
