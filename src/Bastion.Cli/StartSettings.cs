using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Bastion.Cli;

/// <summary>
/// Settings of <c>server start</c>, each from (first found): the command line, the environment variable
/// <c>BASTION_&lt;NAME&gt;</c> (e.g. <c>BASTION_TLS_CERT_FILE</c>), the JSON config file (<c>--config</c>; keys are the
/// long option names without dashes, e.g. <c>"tls-cert-file"</c>), the default. Relative paths in the config file
/// are relative to the file.
/// </summary>
internal sealed class StartSettings
{
    private readonly ParseResult _parse;
    private readonly Dictionary<string, string> _file;
    private readonly string? _fileDirectory;
    private readonly Func<string, string?> _environment;

    private StartSettings(ParseResult parse, Dictionary<string, string> file, string? fileDirectory, Func<string, string?> environment)
    {
        _parse = parse;
        _file = file;
        _fileDirectory = fileDirectory;
        _environment = environment;
    }

    /// <summary>Reads the config file; an unknown key or a value that is not a string or number is an error naming it.</summary>
    public static StartSettings Load(ParseResult parse, string? configFile, IReadOnlyCollection<Option> options, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (configFile is null)
        {
            return new StartSettings(parse, values, null, environment);
        }

        var known = options.Select(Key).ToHashSet(StringComparer.Ordinal);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(configFile), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new ArgumentException($"--config {configFile}: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException($"--config {configFile}: expected a JSON object of settings.");
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!known.Contains(property.Name))
                {
                    throw new ArgumentException($"--config {configFile}: unknown setting \"{property.Name}\"; known: {string.Join(", ", known.Order(StringComparer.Ordinal))}.");
                }

                values[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.Number => property.Value.GetRawText(),
                    _ => throw new ArgumentException($"--config {configFile}: setting \"{property.Name}\" must be a string or a number."),
                };
            }
        }

        return new StartSettings(parse, values, Path.GetDirectoryName(Path.GetFullPath(configFile)), environment);
    }

    public static string EnvironmentVariable(Option option) => "BASTION_" + Key(option).ToUpperInvariant().Replace('-', '_');

    public string? Get(Option<string?> option) => Lookup(option).Value;

    /// <summary>A path: from the config file, relative to the file's directory.</summary>
    public string? GetPath(Option<string?> option)
    {
        var (value, fromFile) = Lookup(option);
        return value != null && fromFile && _fileDirectory != null && !Path.IsPathRooted(value) ? Path.Combine(_fileDirectory, value) : value;
    }

    public int GetInt(Option<string?> option, int fallback)
    {
        var value = Get(option);
        return value is null ? fallback
            : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number
            : throw new ArgumentException($"{option.Name} {value}: expected a whole number.");
    }

    private (string? Value, bool FromFile) Lookup(Option<string?> option)
    {
        ArgumentNullException.ThrowIfNull(option);
        if (_parse.GetResult(option) is { Implicit: false })
        {
            return (_parse.GetValue(option) is { Length: > 0 } given ? given : null, false); // an empty value unsets
        }

        return _environment(EnvironmentVariable(option)) is { Length: > 0 } fromEnvironment
            ? (fromEnvironment, false)
            : (_file.GetValueOrDefault(Key(option)) is { Length: > 0 } fromFile ? fromFile : null, true);
    }

    private static string Key(Option option) => option.Name.TrimStart('-');
}
