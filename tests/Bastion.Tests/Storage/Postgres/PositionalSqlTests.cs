using Bastion.Storage.Postgres;

namespace Bastion.Tests.Storage.Postgres;

/// <summary>The commit path's statements rewritten from <c>@name</c> to PostgreSQL's positional parameters.</summary>
public sealed class PositionalSqlTests
{
    [Fact]
    public void Names_AreNumberedInOrderOfFirstUse_ARepeatedNameKeepsItsNumber_AndOperatorsAreLeftAlone()
    {
        var sql = PositionalSql.Of("UPDATE t SET a = @new_1, b = @b WHERE attrs @> @filter AND a = @new_1 AND x = '\\x'::bytea;  ");

        Assert.Equal("UPDATE t SET a = $1, b = $2 WHERE attrs @> $3 AND a = $1 AND x = '\\x'::bytea", sql.Sql);
        Assert.Equal(["new_1", "b", "filter"], sql.Names);
        Assert.Equal(2, sql.IndexOf("filter"));
        Assert.Same(sql, PositionalSql.Of("UPDATE t SET a = @new_1, b = @b WHERE attrs @> @filter AND a = @new_1 AND x = '\\x'::bytea;  "));
    }

    [Fact]
    public void AParameterTheStatementDoesNotHave_IsAnError_NotASilentlyUnboundValue()
    {
        var e = Assert.Throws<ArgumentException>(() => PositionalSql.Of("DELETE FROM t WHERE id = @id;").IndexOf("other"));
        Assert.Contains("@other", e.Message, StringComparison.Ordinal);
    }
}
