namespace Bastion.Wire.Http;

/// <summary>
/// A <c>google.api.http</c> path template: <c>/a/{field.path}/b/{name=prefix/*}/**:verb</c>. Literal segments
/// must match exactly, <c>*</c> matches one segment, <c>**</c> any number of trailing segments; a variable binds
/// the segments its pattern matches (one segment when it has none) to a request field.
/// </summary>
internal sealed class PathTemplate
{
    private enum Kind
    {
        Literal,
        Single,
        Multi,
    }

    private readonly record struct Part(Kind Kind, string Literal, int Variable);

    private readonly Part[] _parts;

    private PathTemplate(string text, Part[] parts, string[] variables, string? verb)
    {
        Text = text;
        _parts = parts;
        Variables = variables;
        Verb = verb;
    }

    public string Text { get; }

    /// <summary>The field paths the variables bind, in order (e.g. <c>execution.workflow_id</c>).</summary>
    public IReadOnlyList<string> Variables { get; }

    public string? Verb { get; }

    /// <summary>How many segments are literal; among templates matching a path the most literal wins.</summary>
    public int LiteralCount => _parts.Count(p => p.Kind == Kind.Literal);

    public static PathTemplate Parse(string template)
    {
        ArgumentException.ThrowIfNullOrEmpty(template);
        if (template[0] != '/')
        {
            throw new FormatException($"Path template {template} does not start with '/'.");
        }

        var body = template[1..];
        string? verb = null;
        var colon = body.LastIndexOf(':');
        if (colon >= 0 && body.IndexOf('}', colon) < 0)
        {
            verb = body[(colon + 1)..];
            body = body[..colon];
        }

        var parts = new List<Part>();
        var variables = new List<string>();
        var i = 0;
        while (i <= body.Length)
        {
            if (i < body.Length && body[i] == '{')
            {
                var close = body.IndexOf('}', i);
                if (close < 0)
                {
                    throw new FormatException($"Path template {template} has an unclosed variable.");
                }

                var inner = body[(i + 1)..close];
                var eq = inner.IndexOf('=', StringComparison.Ordinal);
                var field = eq < 0 ? inner : inner[..eq];
                var pattern = eq < 0 ? "*" : inner[(eq + 1)..];
                variables.Add(field);
                foreach (var segment in pattern.Split('/'))
                {
                    parts.Add(ToPart(segment, variables.Count - 1, template));
                }

                i = close + 1;
            }
            else
            {
                var slash = body.IndexOf('/', i);
                var end = slash < 0 ? body.Length : slash;
                parts.Add(ToPart(body[i..end], -1, template));
                i = end;
            }

            if (i < body.Length && body[i] != '/')
            {
                throw new FormatException($"Path template {template}: expected '/' at position {i + 1}.");
            }

            i++;
        }

        return new PathTemplate(template, [.. parts], [.. variables], verb);
    }

    /// <summary>
    /// Matches decoded path segments (the verb, if any, still attached to the last one); on success returns each
    /// variable's value, multi-segment values joined with '/'.
    /// </summary>
    public bool TryMatch(IReadOnlyList<string> segments, out string[] values)
    {
        values = [];
        var path = segments;
        if (Verb != null)
        {
            var last = segments.Count == 0 ? string.Empty : segments[^1];
            if (!last.EndsWith(":" + Verb, StringComparison.Ordinal))
            {
                return false;
            }

            path = [.. segments.Take(segments.Count - 1), last[..^(Verb.Length + 1)]];
        }

        var captured = new List<string>?[Variables.Count];
        if (!Match(0, 0, path, captured))
        {
            return false;
        }

        values = [.. captured.Select(c => c == null ? string.Empty : string.Join('/', c))];
        return true;
    }

    private bool Match(int part, int segment, IReadOnlyList<string> path, List<string>?[] captured)
    {
        if (part == _parts.Length)
        {
            return segment == path.Count;
        }

        var p = _parts[part];
        switch (p.Kind)
        {
            case Kind.Literal:
                if (segment >= path.Count || path[segment] != p.Literal)
                {
                    return false;
                }

                Capture(p, p.Literal, captured); // a literal inside a variable's pattern is part of its value
                return Match(part + 1, segment + 1, path, captured);
            case Kind.Single:
                if (segment >= path.Count || path[segment].Length == 0)
                {
                    return false;
                }

                Capture(p, path[segment], captured);
                return Match(part + 1, segment + 1, path, captured);
            default:
                // '**' takes every segment that the rest of the template leaves over.
                var rest = _parts.Length - part - 1;
                var take = path.Count - segment - rest;
                if (take < 0)
                {
                    return false;
                }

                for (var k = 0; k < take; k++)
                {
                    Capture(p, path[segment + k], captured);
                }

                return Match(part + 1, segment + take, path, captured);
        }
    }

    private static void Capture(Part part, string value, List<string>?[] captured)
    {
        if (part.Variable >= 0)
        {
            (captured[part.Variable] ??= []).Add(value);
        }
    }

    private static Part ToPart(string segment, int variable, string template) => segment switch
    {
        "" => throw new FormatException($"Path template {template} has an empty segment."),
        "*" => new Part(Kind.Single, string.Empty, variable),
        "**" => new Part(Kind.Multi, string.Empty, variable),
        _ when segment.Contains('{', StringComparison.Ordinal) || segment.Contains('}', StringComparison.Ordinal)
            => throw new FormatException($"Path template {template} has a malformed segment {segment}."),
        _ => new Part(Kind.Literal, segment, variable),
    };
}
