namespace Bastion.Visibility.Query;

/// <summary>
/// Recursive-descent parser for Temporal's list filter:
/// <code>
/// query     := [expr] [ORDER BY name [ASC|DESC] {, …}] [GROUP BY name {, name}]
/// expr      := and {OR and}
/// and       := primary {AND primary}
/// primary   := '(' expr ')' | name predicate
/// predicate := cmp value | [NOT] IN '(' value {, value} ')' | [NOT] BETWEEN value AND value
///            | STARTS_WITH value | IS [NOT] NULL
/// value     := 'string' | "string" | number | TRUE | FALSE
/// </code>
/// Errors name the offset and the problem. A query is bounded (<see cref="QueryLimits"/>) so that neither this
/// recursive parser nor the SQL it becomes can be driven past its stack or SQLite's expression depth.
/// </summary>
public sealed class Parser
{
    private readonly List<Token> _tokens;
    private readonly string _text;
    private int _next;
    private int _depth;
    private int _predicates;
    private int _values;

    private Parser(string text)
    {
        _text = text;
        _tokens = Lexer.Tokenize(text);
    }

    public static ListQuery Parse(string? text)
    {
        if (text?.Length > QueryLimits.MaxLength)
        {
            throw new InvalidQueryException(0, $"the query is {text.Length} characters long; the limit is {QueryLimits.MaxLength}");
        }

        var parser = new Parser(text ?? string.Empty);
        return parser.ParseQuery();
    }

    private Token Peek => _tokens[_next];

    private ListQuery ParseQuery()
    {
        Expr? filter = null;
        if (Peek.Kind != TokenKind.End && !Peek.Is("ORDER") && !Peek.Is("GROUP"))
        {
            filter = ParseOr();
        }

        var order = new List<OrderTerm>();
        if (Peek.Is("ORDER"))
        {
            _next++;
            Expect("BY");
            do
            {
                var name = ParseName();
                var descending = false;
                if (Peek.Is("DESC") || Peek.Is("ASC"))
                {
                    descending = Take().Is("DESC");
                }

                order.Add(new OrderTerm(name, descending));
            }
            while (TakeIf(TokenKind.Comma));
        }

        var group = new List<AttributeName>();
        if (Peek.Is("GROUP"))
        {
            _next++;
            Expect("BY");
            do
            {
                group.Add(ParseName());
            }
            while (TakeIf(TokenKind.Comma));
        }

        if (Peek.Kind != TokenKind.End)
        {
            throw Unexpected(Peek, filter is null ? "a filter, ORDER BY or GROUP BY" : "AND, OR, ORDER BY, GROUP BY or the end of the query");
        }

        return new ListQuery(_text, filter, order, group);
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Peek.Is("OR"))
        {
            _next++;
            left = new OrExpr(left, ParseAnd());
        }

        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParsePrimary();
        while (Peek.Is("AND"))
        {
            _next++;
            left = new AndExpr(left, ParsePrimary());
        }

        return left;
    }

    private Expr ParsePrimary()
    {
        var open = Peek;
        if (TakeIf(TokenKind.LeftParen))
        {
            if (++_depth > QueryLimits.MaxNesting)
            {
                throw new InvalidQueryException(open.Position, $"parentheses nest more than {QueryLimits.MaxNesting} deep");
            }

            var inner = ParseOr();
            _depth--;
            if (!TakeIf(TokenKind.RightParen))
            {
                throw Unexpected(Peek, "')'");
            }

            return inner;
        }

        var name = ParseName();
        if (++_predicates > QueryLimits.MaxPredicates)
        {
            throw new InvalidQueryException(name.Position, $"the query has more than {QueryLimits.MaxPredicates} conditions");
        }

        var token = Take();
        if (token.Kind == TokenKind.Operator)
        {
            return new CompareExpr(name, token.Text switch
            {
                "=" => CompareOp.Equal,
                "!=" => CompareOp.NotEqual,
                "<" => CompareOp.Less,
                "<=" => CompareOp.LessOrEqual,
                ">" => CompareOp.Greater,
                _ => CompareOp.GreaterOrEqual,
            }, ParseValue());
        }

        var negated = false;
        if (token.Is("NOT"))
        {
            negated = true;
            token = Take();
            if (!token.Is("IN") && !token.Is("BETWEEN"))
            {
                throw Unexpected(token, "IN or BETWEEN after NOT");
            }
        }

        if (token.Is("IN"))
        {
            if (!TakeIf(TokenKind.LeftParen))
            {
                throw Unexpected(Peek, "'(' after IN");
            }

            var values = new List<Literal> { ParseValue() };
            while (TakeIf(TokenKind.Comma))
            {
                values.Add(ParseValue());
            }

            if (!TakeIf(TokenKind.RightParen))
            {
                throw Unexpected(Peek, "',' or ')' in the IN list");
            }

            return new InExpr(name, values, negated);
        }

        if (token.Is("BETWEEN"))
        {
            var low = ParseValue();
            Expect("AND");
            return new BetweenExpr(name, low, ParseValue(), negated);
        }

        if (token.Is("STARTS_WITH"))
        {
            return new StartsWithExpr(name, ParseValue());
        }

        if (token.Is("IS"))
        {
            var isNot = Peek.Is("NOT") && Take().Is("NOT");
            Expect("NULL");
            return new IsNullExpr(name, isNot);
        }

        throw Unexpected(token, "an operator (=, !=, >, >=, <, <=, IN, NOT IN, BETWEEN, STARTS_WITH, IS NULL, IS NOT NULL)");
    }

    private AttributeName ParseName()
    {
        var token = Take();
        if (token.Kind != TokenKind.Identifier || (!token.Quoted && IsKeyword(token.Text)))
        {
            throw Unexpected(token, "a search attribute name");
        }

        return new AttributeName(token.Text, token.Position);
    }

    private Literal ParseValue()
    {
        var token = Take();
        if (++_values > QueryLimits.MaxValues)
        {
            throw new InvalidQueryException(token.Position, $"the query has more than {QueryLimits.MaxValues} values");
        }

        return token.Kind switch
        {
            TokenKind.String => new Literal(token.Text, IsString: true, token.Position),
            TokenKind.Number => new Literal(token.Text, IsString: false, token.Position),
            TokenKind.Identifier when !token.Quoted && (token.Is("TRUE") || token.Is("FALSE")) =>
                new Literal(token.Text.ToLowerInvariant(), IsString: false, token.Position),
            _ => throw Unexpected(token, "a value (a quoted string, a number, true or false)"),
        };
    }

    private void Expect(string keyword)
    {
        var token = Take();
        if (!token.Is(keyword))
        {
            throw Unexpected(token, keyword);
        }
    }

    private Token Take()
    {
        var token = _tokens[_next];
        if (token.Kind != TokenKind.End)
        {
            _next++;
        }

        return token;
    }

    private bool TakeIf(TokenKind kind)
    {
        if (Peek.Kind != kind)
        {
            return false;
        }

        _next++;
        return true;
    }

    private static bool IsKeyword(string word) => word.ToUpperInvariant() is
        "AND" or "OR" or "NOT" or "IN" or "BETWEEN" or "STARTS_WITH" or "IS" or "NULL" or "ORDER" or "GROUP" or "BY" or "ASC" or "DESC" or "TRUE" or "FALSE";

    private static InvalidQueryException Unexpected(Token token, string expected) =>
        new(token.Position, $"expected {expected}, found {Quote(token)}");

    private static string Quote(Token token) => token.Kind == TokenKind.End
        ? token.Describe()
        : $"'{(token.Text.Length > 40 ? token.Text[..40] + "…" : token.Text)}'";
}
