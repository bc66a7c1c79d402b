using System.Text;
using Bastion.Visibility.Query;

namespace Bastion.Visibility.Sql;

/// <summary>
/// Turns a bound filter into a parameterised WHERE fragment; values never enter the SQL text. System
/// attributes are columns; the others come from the row's attribute map through the dialect.
/// </summary>
public sealed class SqlFilterWriter
{
    private readonly ISqlDialect _dialect;
    private readonly List<object> _parameters = [];
    private readonly StringBuilder _sql = new();

    private SqlFilterWriter(ISqlDialect dialect) => _dialect = dialect;

    /// <param name="firstParameter">The index of the first placeholder (the caller may bind some before).</param>
    public static SqlFilter Write(Expr? filter, ISqlDialect dialect, int firstParameter = 0)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        var writer = new SqlFilterWriter(dialect);
        writer._parameters.AddRange(Enumerable.Repeat<object>(0, firstParameter));
        if (filter is null)
        {
            writer._sql.Append("1 = 1");
        }
        else
        {
            writer.Append(filter);
        }

        return new SqlFilter(writer._sql.ToString(), writer._parameters.Skip(firstParameter).ToList());
    }

    private void Append(Expr expr)
    {
        switch (expr)
        {
            case AndExpr and:
                Binary(and.Left, "AND", and.Right);
                break;
            case OrExpr or:
                Binary(or.Left, "OR", or.Right);
                break;
            case CompareExpr compare:
                AppendCompare(compare);
                break;
            case InExpr @in:
                AppendIn(@in);
                break;
            case BetweenExpr between:
                _sql.Append('(').Append(Column(between.Attribute)).Append(between.Negated ? " NOT BETWEEN " : " BETWEEN ")
                    .Append(Bind(between.Low)).Append(" AND ").Append(Bind(between.High)).Append(')');
                break;
            case StartsWithExpr startsWith:
            {
                // A range, not LIKE: it uses the index and needs no escaping of % and _.
                var prefix = (string)startsWith.Prefix.Value!;
                var column = Column(startsWith.Attribute);
                _sql.Append('(').Append(column).Append(" >= ").Append(Bind(prefix)).Append(" AND ")
                    .Append(column).Append(" < ").Append(Bind(prefix + '\uffff')).Append(')');
                break;
            }

            case MatchAllExpr:
                _sql.Append("(1 = 1)");
                break;
            case IsNullExpr isNull:
                _sql.Append('(').Append(Column(isNull.Attribute)).Append(isNull.Negated ? " IS NOT NULL)" : " IS NULL)");
                break;
            default:
                throw new InvalidOperationException($"Unknown expression {expr.GetType().Name}.");
        }
    }

    private void Binary(Expr left, string op, Expr right)
    {
        _sql.Append('(');
        Append(left);
        _sql.Append(' ').Append(op).Append(' ');
        Append(right);
        _sql.Append(')');
    }

    private void AppendCompare(CompareExpr compare)
    {
        var definition = compare.Attribute.Definition;
        var negate = compare.Op == CompareOp.NotEqual;
        if (definition.Type == SearchAttributeType.KeywordList)
        {
            _sql.Append(negate ? "(NOT " : "(").Append(_dialect.ListContains(definition, Bind(compare.Value))).Append(')');
            return;
        }

        var column = Column(compare.Attribute);
        if (definition.Type == SearchAttributeType.Text)
        {
            _sql.Append(negate ? "(NOT " : "(").Append(_dialect.TextContains(column, Bind(compare.Value))).Append(')');
            return;
        }

        var op = compare.Op.Symbol();
        _sql.Append('(').Append(column).Append(' ').Append(op).Append(' ').Append(Bind(compare.Value)).Append(')');
    }

    private void AppendIn(InExpr @in)
    {
        var definition = @in.Attribute.Definition;
        if (definition.Type == SearchAttributeType.KeywordList)
        {
            _sql.Append(@in.Negated ? "(NOT (" : "((");
            for (var i = 0; i < @in.Values.Count; i++)
            {
                _sql.Append(i == 0 ? string.Empty : " OR ").Append(_dialect.ListContains(definition, Bind(@in.Values[i])));
            }

            _sql.Append("))");
            return;
        }

        _sql.Append('(').Append(Column(@in.Attribute)).Append(@in.Negated ? " NOT IN (" : " IN (");
        for (var i = 0; i < @in.Values.Count; i++)
        {
            _sql.Append(i == 0 ? string.Empty : ", ").Append(Bind(@in.Values[i]));
        }

        _sql.Append("))");
    }

    private string Column(AttributeName name) =>
        name.Definition.Column ?? _dialect.MapValue(name.Definition);

    private string Bind(Literal literal) => Bind(literal.Value ?? throw new InvalidOperationException($"Value {literal.Text} is not bound."));

    private string Bind(object value)
    {
        _parameters.Add(value is bool b ? _dialect.BoolValue(b) : value);
        return _dialect.Parameter(_parameters.Count - 1);
    }
}
