namespace Bastion.Visibility.Query;

internal enum TokenKind
{
    Identifier,
    String,
    Number,
    Operator,
    LeftParen,
    RightParen,
    Comma,
    End,
}

/// <summary>One lexeme of a list filter; <see cref="Position"/> is its offset in the query.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Position, bool Quoted = false)
{
    /// <summary>True for an unquoted word equal (ignoring case) to <paramref name="keyword"/>.</summary>
    public bool Is(string keyword) => Kind == TokenKind.Identifier && !Quoted && string.Equals(Text, keyword, StringComparison.OrdinalIgnoreCase);

    public string Describe() => Kind == TokenKind.End ? "the end of the query" : $"'{Text}'";
}
