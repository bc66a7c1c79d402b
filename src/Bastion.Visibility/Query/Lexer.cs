using System.Text;

namespace Bastion.Visibility.Query;

/// <summary>
/// Splits a list filter into tokens: words (attribute names and keywords; <c>`back quoted`</c> names may hold
/// anything), 'single' or "double" quoted strings with backslash escapes, numbers, <c>= != &lt;&gt; &lt; &lt;= &gt; &gt;=</c>,
/// parentheses and commas.
/// </summary>
internal static class Lexer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                tokens.Add(new Token(TokenKind.End, string.Empty, text.Length));
                return tokens;
            }

            var c = text[i];
            var start = i;
            if (c is '\'' or '"')
            {
                tokens.Add(new Token(TokenKind.String, ReadQuoted(text, ref i, c), start));
            }
            else if (c == '`')
            {
                var end = text.IndexOf('`', i + 1);
                if (end < 0)
                {
                    throw new InvalidQueryException(start, "unterminated back-quoted name");
                }

                tokens.Add(new Token(TokenKind.Identifier, text[(i + 1)..end], start, Quoted: true));
                i = end + 1;
            }
            else if (char.IsDigit(c) || ((c is '-' or '+' or '.') && i + 1 < text.Length && (char.IsDigit(text[i + 1]) || text[i + 1] == '.')))
            {
                i++;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '.' or '_' || (text[i] is '+' or '-' && text[i - 1] is 'e' or 'E')))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Number, text[start..i], start));
            }
            else if (char.IsLetter(c) || c == '_')
            {
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, text[start..i], start));
            }
            else if (c == '(' || c == ')' || c == ',')
            {
                tokens.Add(new Token(c switch { '(' => TokenKind.LeftParen, ')' => TokenKind.RightParen, _ => TokenKind.Comma }, c.ToString(), start));
                i++;
            }
            else if (c is '=' or '!' or '<' or '>')
            {
                var two = i + 1 < text.Length ? text.Substring(i, 2) : string.Empty;
                var op = two is "!=" or "<=" or ">=" or "<>" ? two : c.ToString();
                if (op == "!")
                {
                    throw new InvalidQueryException(start, "'!' must be followed by '='");
                }

                tokens.Add(new Token(TokenKind.Operator, op == "<>" ? "!=" : op, start));
                i += op.Length;
            }
            else
            {
                throw new InvalidQueryException(start, $"unexpected character '{c}'");
            }
        }
    }

    private static string ReadQuoted(string text, ref int i, char quote)
    {
        var start = i;
        var value = new StringBuilder();
        i++;
        while (i < text.Length)
        {
            var c = text[i++];
            if (c == quote)
            {
                return value.ToString();
            }

            if (c == '\\' && i < text.Length)
            {
                c = text[i++];
            }

            value.Append(c);
        }

        throw new InvalidQueryException(start, "unterminated string");
    }
}
