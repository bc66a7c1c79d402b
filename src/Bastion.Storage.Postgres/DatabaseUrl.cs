using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Bastion.Storage.Postgres;

/// <summary>
/// A PostgreSQL database named as <c>postgres://USER[:PASS]@HOST[:PORT]/DB[?params]</c> (or <c>postgresql://</c>).
/// The password is kept only to connect: <see cref="ToString"/> and every parse error leave it out, so the
/// redacted form is the one thing logged, audited or shown.
/// </summary>
public sealed class DatabaseUrl
{
    public const int DefaultPort = 5432;

    private static readonly string[] s_schemes = ["postgres://", "postgresql://"];

    // Query parameters, named as libpq names them, and what they set.
    private static readonly Dictionary<string, Action<NpgsqlConnectionStringBuilder, string>> s_parameters =
        new(StringComparer.Ordinal)
        {
            ["sslmode"] = (b, v) => b.SslMode = ParseSslMode(v),
            ["sslrootcert"] = (b, v) => b.RootCertificate = v,
            ["sslcert"] = (b, v) => b.SslCertificate = v,
            ["sslkey"] = (b, v) => b.SslKey = v,
            ["application_name"] = (b, v) => b.ApplicationName = v,
            ["connect_timeout"] = (b, v) => b.Timeout = ParseSeconds("connect_timeout", v),
        };

    private readonly string? _password;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _parameterValues;

    private DatabaseUrl(string username, string? password, string host, int port, string database,
        IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        Username = username;
        _password = password;
        Host = host;
        Port = port;
        Database = database;
        _parameterValues = parameters;
    }

    public string Username { get; }

    /// <summary>A host name or an IP address (IPv6 without brackets).</summary>
    public string Host { get; }

    public int Port { get; }

    public string Database { get; }

    /// <summary>The URL's query parameters, decoded, in their order (none of them is a secret).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters => _parameterValues;

    /// <exception cref="FormatException">The URL is malformed; the message says what is wrong and never holds the password.</exception>
    public static DatabaseUrl Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var scheme = s_schemes.FirstOrDefault(s => url.StartsWith(s, StringComparison.OrdinalIgnoreCase))
            ?? throw Malformed("it must start with postgres:// or postgresql://");
        var rest = url[scheme.Length..];
        if (rest.Contains('#', StringComparison.Ordinal))
        {
            throw Malformed("it holds a '#'; percent-encode it (%23) in the user name, password or database name");
        }

        // The authority ends at the first '/' or '?'; an '@' after that means the user info held one of them unencoded.
        var authorityEnd = rest.IndexOfAny(['/', '?']);
        var authority = authorityEnd < 0 ? rest : rest[..authorityEnd];
        var tail = authorityEnd < 0 ? string.Empty : rest[authorityEnd..];
        if (tail.Contains('@', StringComparison.Ordinal))
        {
            throw Malformed("an '@' follows the host: percent-encode a '/' or '?' in the user name or password (%2F, %3F) "
                + "and an '@' in the database name or a parameter (%40)");
        }

        var at = authority.LastIndexOf('@');
        if (at < 0)
        {
            throw Malformed("it names no user; write postgres://USER:PASSWORD@HOST/DATABASE");
        }

        var (username, password) = ParseUserInfo(authority[..at]);
        var (host, port) = ParseHostAndPort(authority[(at + 1)..]);

        var query = tail.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? tail : tail[..query];
        var database = ParseDatabase(path);
        var parameters = query < 0 ? [] : ParseQuery(tail[(query + 1)..]);
        return new DatabaseUrl(username, password, host, port, database, parameters);
    }

    /// <summary>The same server and credentials, another database (e.g. a test's own database).</summary>
    public DatabaseUrl WithDatabase(string database)
    {
        ArgumentException.ThrowIfNullOrEmpty(database);
        return new DatabaseUrl(Username, _password, Host, Port, database, _parameterValues);
    }

    /// <summary>
    /// Npgsql's settings for this URL. It holds the password, so it is for opening connections only;
    /// <c>Persist Security Info</c> is off, so a connection or data source never shows it afterwards.
    /// </summary>
    public NpgsqlConnectionStringBuilder ToConnectionStringBuilder()
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Username = Username,
            Database = Database,
            PersistSecurityInfo = false,
        };
        if (_password is not null)
        {
            builder.Password = _password;
        }

        foreach (var (name, value) in _parameterValues)
        {
            s_parameters[name](builder, value);
        }

        return builder;
    }

    /// <summary>A pool of connections to this database.</summary>
    public NpgsqlDataSource CreateDataSource() => NpgsqlDataSource.Create(ToConnectionStringBuilder());

    /// <summary>The redacted form, <c>postgres://user@host:port/db</c>: no password, no parameters.</summary>
    public override string ToString() => Redacted(Username, Host, Port, Database);

    /// <summary>The redacted form of any connection's settings (the password, if present, is not used).</summary>
    public static string Redacted(NpgsqlConnectionStringBuilder settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Redacted(settings.Username ?? string.Empty, settings.Host ?? string.Empty, settings.Port, settings.Database ?? string.Empty);
    }

    private static string Redacted(string username, string host, int port, string database)
    {
        var hostText = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        return string.Create(CultureInfo.InvariantCulture,
            $"postgres://{Uri.EscapeDataString(username)}@{hostText}:{port}/{Uri.EscapeDataString(database)}");
    }

    private static (string Username, string? Password) ParseUserInfo(string userInfo)
    {
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        var username = Decode(colon < 0 ? userInfo : userInfo[..colon], "user name");
        if (username.Length == 0)
        {
            throw Malformed("the user name is empty");
        }

        var password = colon < 0 ? null : Decode(userInfo[(colon + 1)..], "password");
        return (username, password);
    }

    private static (string Host, int Port) ParseHostAndPort(string hostPort)
    {
        string host;
        string? portText = null;
        if (hostPort.StartsWith('['))
        {
            var close = hostPort.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || !IPAddress.TryParse(hostPort[1..close], out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
            {
                throw Malformed("the host in brackets is not an IPv6 address");
            }

            host = hostPort[1..close];
            var after = hostPort[(close + 1)..];
            if (after.Length > 0)
            {
                portText = after[0] == ':' ? after[1..] : throw Malformed("an IPv6 host in brackets may be followed only by :PORT");
            }
        }
        else
        {
            var colon = hostPort.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && hostPort.IndexOf(':', colon + 1) >= 0)
            {
                throw Malformed("the host is not a host name or an IP address (an IPv6 address goes in brackets)");
            }

            host = colon < 0 ? hostPort : hostPort[..colon];
            portText = colon < 0 ? null : hostPort[(colon + 1)..];
            if (host.Length == 0)
            {
                throw Malformed("it names no host");
            }

            if (!host.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
            {
                throw Malformed("the host is not a host name or an IP address (an IPv6 address goes in brackets)");
            }
        }

        var port = DefaultPort;
        if (portText is not null
            && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw Malformed("the port is not a number from 1 to 65535");
        }

        return (host, port);
    }

    private static string ParseDatabase(string path)
    {
        if (path.Length <= 1)
        {
            throw Malformed("it names no database; end it with /DATABASE");
        }

        var raw = path[1..];
        if (raw.Contains('/', StringComparison.Ordinal))
        {
            throw Malformed("the database name holds a '/'; percent-encode it (%2F)");
        }

        return Decode(raw, "database name");
    }

    private static List<KeyValuePair<string, string>> ParseQuery(string query)
    {
        var result = new List<KeyValuePair<string, string>>();
        if (query.Length == 0)
        {
            return result;
        }

        foreach (var pair in query.Split('&'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Decode(equals < 0 ? pair : pair[..equals], "parameter name");
            if (!s_parameters.TryGetValue(name, out var apply))
            {
                throw Malformed($"it has an unknown parameter {Shown(name)}; known: {string.Join(", ", s_parameters.Keys)}");
            }

            if (result.Any(p => p.Key == name))
            {
                throw Malformed($"the parameter {name} is given twice");
            }

            var value = equals < 0 ? string.Empty : Decode(pair[(equals + 1)..], $"value of {name}");
            if (value.Length == 0)
            {
                throw Malformed($"the parameter {name} has no value");
            }

            // Applied once here so a bad value fails the parse, not the first connection.
            apply(new NpgsqlConnectionStringBuilder(), value);
            result.Add(new(name, value));
        }

        return result;
    }

    private static SslMode ParseSslMode(string value) => value switch
    {
        "disable" => SslMode.Disable,
        "allow" => SslMode.Allow,
        "prefer" => SslMode.Prefer,
        "require" => SslMode.Require,
        "verify-ca" => SslMode.VerifyCA,
        "verify-full" => SslMode.VerifyFull,
        _ => throw Malformed("sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full"),
    };

    private static int ParseSeconds(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= 1024
            ? seconds
            : throw Malformed($"{name} must be a whole number of seconds from 0 to 1024");

    /// <summary>Percent-decoding that refuses what <see cref="Uri.UnescapeDataString(string)"/> would let through.</summary>
    private static string Decode(string text, string what)
    {
        if (!text.Contains('%', StringComparison.Ordinal))
        {
            return text;
        }

        var raw = Encoding.UTF8.GetBytes(text);
        var bytes = new List<byte>(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != '%')
            {
                bytes.Add(raw[i]);
                continue;
            }

            var high = i + 2 < raw.Length ? HexValue(raw[i + 1]) : null;
            var low = i + 2 < raw.Length ? HexValue(raw[i + 2]) : null;
            if (high is null || low is null)
            {
                throw Malformed($"the {what} holds a '%' that does not start a percent-encoded byte (%XX)");
            }

            bytes.Add((byte)((high.Value << 4) | low.Value));
            i += 2;
        }

        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            throw Malformed($"the {what} is not UTF-8 once percent-decoded");
        }
    }

    private static int? HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => null,
    };

    /// <summary>A parameter name as an error shows it: only when it cannot be a stray piece of a password.</summary>
    private static string Shown(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? $"'{name}'" : "(not shown)";

    private static FormatException Malformed(string why) => new($"The database URL is not valid: {why}.");
}
