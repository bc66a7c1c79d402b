using Bastion.Storage.Postgres;
using Npgsql;

namespace Bastion.Tests.Storage.Postgres;

public sealed class DatabaseUrlTests
{
    private const string Secret = "s3cr3t-Pa55";

    [Fact]
    public void Parse_FullUrl_ReadsEveryPart()
    {
        var url = DatabaseUrl.Parse($"postgres://bastion:{Secret}@db.example.com:6543/temporal");

        Assert.Equal("bastion", url.Username);
        Assert.Equal("db.example.com", url.Host);
        Assert.Equal(6543, url.Port);
        Assert.Equal("temporal", url.Database);
        var settings = url.ToConnectionStringBuilder();
        Assert.Equal(Secret, settings.Password);
        Assert.Equal("db.example.com", settings.Host);
        Assert.Equal(6543, settings.Port);
        Assert.Equal("bastion", settings.Username);
        Assert.Equal("temporal", settings.Database);
    }

    [Theory]
    [InlineData("postgres://u:p@h/d")]
    [InlineData("postgresql://u:p@h/d")]
    [InlineData("POSTGRES://u:p@h/d")]
    public void Parse_EitherScheme_DefaultsThePort(string text)
    {
        var url = DatabaseUrl.Parse(text);

        Assert.Equal(DatabaseUrl.DefaultPort, url.Port);
        Assert.Equal("postgres://u@h:5432/d", url.ToString());
    }

    [Fact]
    public void Parse_PercentEncodedParts_AreDecoded()
    {
        var url = DatabaseUrl.Parse("postgres://us%40er:p%3A%2F%3F%23%40%25w%C3%A9@h/my%20db");

        Assert.Equal("us@er", url.Username);
        Assert.Equal("p:/?#@%wé", url.ToConnectionStringBuilder().Password);
        Assert.Equal("my db", url.Database);
    }

    [Fact]
    public void Parse_UnencodedAtInPassword_TakesTheLastAtAsTheEndOfTheUserInfo()
    {
        var url = DatabaseUrl.Parse("postgres://u:p@ss@h/d");

        Assert.Equal("p@ss", url.ToConnectionStringBuilder().Password);
        Assert.Equal("h", url.Host);
    }

    [Fact]
    public void Parse_NoPassword_LeavesItUnset()
    {
        var url = DatabaseUrl.Parse("postgres://u@h/d");

        Assert.Null(url.ToConnectionStringBuilder().Password);
    }

    [Theory]
    [InlineData("postgres://u:p@[::1]/d", "::1", 5432, "postgres://u@[::1]:5432/d")]
    [InlineData("postgres://u:p@[2001:db8::7]:6000/d", "2001:db8::7", 6000, "postgres://u@[2001:db8::7]:6000/d")]
    [InlineData("postgres://u:p@10.0.0.5:5433/d", "10.0.0.5", 5433, "postgres://u@10.0.0.5:5433/d")]
    [InlineData("postgres://u:p@my_db-1.internal/d", "my_db-1.internal", 5432, "postgres://u@my_db-1.internal:5432/d")]
    public void Parse_Hosts_IncludingIpv6InBrackets(string text, string host, int port, string redacted)
    {
        var url = DatabaseUrl.Parse(text);

        Assert.Equal(host, url.Host);
        Assert.Equal(port, url.Port);
        Assert.Equal(redacted, url.ToString());
        Assert.Equal(host, url.ToConnectionStringBuilder().Host);
    }

    [Fact]
    public void Parse_Parameters_MapOntoNpgsqlSettings()
    {
        var url = DatabaseUrl.Parse(
            "postgres://u:p@h/d?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&sslcert=/c.pem&sslkey=/k.pem"
            + "&application_name=bastion%20server&connect_timeout=7");

        var settings = url.ToConnectionStringBuilder();
        Assert.Equal(SslMode.VerifyFull, settings.SslMode);
        Assert.Equal("/etc/ca.pem", settings.RootCertificate);
        Assert.Equal("/c.pem", settings.SslCertificate);
        Assert.Equal("/k.pem", settings.SslKey);
        Assert.Equal("bastion server", settings.ApplicationName);
        Assert.Equal(7, settings.Timeout);
        Assert.Equal(6, url.Parameters.Count);
    }

    [Theory]
    [InlineData("disable", SslMode.Disable)]
    [InlineData("allow", SslMode.Allow)]
    [InlineData("prefer", SslMode.Prefer)]
    [InlineData("require", SslMode.Require)]
    [InlineData("verify-ca", SslMode.VerifyCA)]
    public void Parse_SslModes_AreLibpqs(string text, SslMode mode) =>
        Assert.Equal(mode, DatabaseUrl.Parse($"postgres://u:p@h/d?sslmode={text}").ToConnectionStringBuilder().SslMode);

    [Fact]
    public void ConnectionString_NeverPersistsTheSecret()
    {
        var url = DatabaseUrl.Parse($"postgres://u:{Secret}@h/d");

        Assert.False(url.ToConnectionStringBuilder().PersistSecurityInfo);
        using var dataSource = url.CreateDataSource();
        Assert.DoesNotContain(Secret, dataSource.ConnectionString, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_IsRedacted_WithEncodedParts()
    {
        var url = DatabaseUrl.Parse($"postgresql://b%20u:{Secret}@h:1/my%2Fdb?application_name=x");

        Assert.Equal("postgres://b%20u@h:1/my%2Fdb", url.ToString());
        Assert.Equal("my/db", DatabaseUrl.Parse(url.ToString()).Database);
    }

    [Fact]
    public void WithDatabase_KeepsServerAndCredentials()
    {
        var url = DatabaseUrl.Parse($"postgres://u:{Secret}@h:7/d?sslmode=require").WithDatabase("other");

        Assert.Equal("postgres://u@h:7/other", url.ToString());
        Assert.Equal(Secret, url.ToConnectionStringBuilder().Password);
        Assert.Equal(SslMode.Require, url.ToConnectionStringBuilder().SslMode);
    }

    [Fact]
    public void Redacted_OfSettings_LeavesThePasswordOut()
    {
        var settings = new NpgsqlConnectionStringBuilder { Host = "::1", Port = 5, Username = "u", Password = Secret, Database = "d" };

        Assert.Equal("postgres://u@[::1]:5/d", DatabaseUrl.Redacted(settings));
    }

    [Theory]
    [InlineData("mysql://u:" + Secret + "@h/d", "must start with postgres:// or postgresql://")]
    [InlineData(Secret, "must start with postgres://")]
    [InlineData("postgres://h/d", "names no user")]
    [InlineData("postgres://:" + Secret + "@h/d", "the user name is empty")]
    [InlineData("postgres://u:" + Secret + "@/d", "names no host")]
    [InlineData("postgres://u:" + Secret + "@h", "names no database")]
    [InlineData("postgres://u:" + Secret + "@h/", "names no database")]
    [InlineData("postgres://u:" + Secret + "@h:0/d", "the port is not a number from 1 to 65535")]
    [InlineData("postgres://u:" + Secret + "@h:65536/d", "the port is not a number")]
    [InlineData("postgres://u:" + Secret + "@h:54x/d", "the port is not a number")]
    [InlineData("postgres://u:" + Secret + "@h:/d", "the port is not a number")]
    [InlineData("postgres://u:" + Secret + "@h:-1/d", "the port is not a number")]
    [InlineData("postgres://u:" + Secret + "@[::1/d", "not an IPv6 address")]
    [InlineData("postgres://u:" + Secret + "@[10.0.0.1]/d", "not an IPv6 address")]
    [InlineData("postgres://u:" + Secret + "@[::1]x/d", "may be followed only by :PORT")]
    [InlineData("postgres://u:" + Secret + "@::1/d", "an IPv6 address goes in brackets")]
    [InlineData("postgres://u:" + Secret + "@h%20x/d", "the host is not a host name")]
    [InlineData("postgres://u:" + Secret + "@h/a/b", "the database name holds a '/'")]
    [InlineData("postgres://u:" + Secret + "@h/d#x", "holds a '#'")]
    [InlineData("postgres://u:s3cr#3t-Pa55@h/d", "holds a '#'")]
    [InlineData("postgres://u:s3cr/3t-Pa55@h/d", "percent-encode a '/' or '?' in the user name or password")]
    [InlineData("postgres://u:s3cr?3t-Pa55@h/d", "percent-encode a '/' or '?' in the user name or password")]
    [InlineData("postgres://u:" + Secret + "@h/d?application_name=me@there", "an '@' follows the host")]
    [InlineData("postgres://u:s3cr%3t-Pa55@h/d", "the password holds a '%' that does not start")]
    [InlineData("postgres://u:s3cr3t-Pa55%@h/d", "the password holds a '%'")]
    [InlineData("postgres://u:s3cr3t-Pa55%FF@h/d", "the password is not UTF-8")]
    [InlineData("postgres://u%zz:" + Secret + "@h/d", "the user name holds a '%'")]
    [InlineData("postgres://u:" + Secret + "@h/d%2", "the database name holds a '%'")]
    [InlineData("postgres://u:" + Secret + "@h/d?sslmode=sometimes", "sslmode must be one of")]
    [InlineData("postgres://u:" + Secret + "@h/d?connect_timeout=soon", "connect_timeout must be a whole number")]
    [InlineData("postgres://u:" + Secret + "@h/d?connect_timeout=-1", "connect_timeout must be a whole number")]
    [InlineData("postgres://u:" + Secret + "@h/d?sslmode=", "the parameter sslmode has no value")]
    [InlineData("postgres://u:" + Secret + "@h/d?sslmode", "the parameter sslmode has no value")]
    [InlineData("postgres://u:" + Secret + "@h/d?sslmode=require&sslmode=disable", "the parameter sslmode is given twice")]
    [InlineData("postgres://u:" + Secret + "@h/d?pool_size=5", "unknown parameter 'pool_size'")]
    [InlineData("postgres://u:" + Secret + "@h/d?password=" + Secret, "unknown parameter 'password'")]
    [InlineData("postgres://u:" + Secret + "@h/d?x%20y=1", "unknown parameter (not shown)")]
    public void Parse_Malformed_SaysWhatIsWrong_WithoutThePassword(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => DatabaseUrl.Parse(text));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("The database URL is not valid: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Pa55", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Null_IsAnArgumentError() => Assert.Throws<ArgumentNullException>(() => DatabaseUrl.Parse(null!));
}
