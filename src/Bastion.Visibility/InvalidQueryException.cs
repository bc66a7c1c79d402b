namespace Bastion.Visibility;

/// <summary>A list filter that cannot be parsed or does not fit the namespace's attributes; names where and why.</summary>
public sealed class InvalidQueryException : Exception
{
    public InvalidQueryException(int position, string problem)
        : base($"at position {position + 1}: {problem}")
    {
        Position = position;
        Problem = problem;
    }

    public InvalidQueryException()
    {
        Problem = string.Empty;
    }

    public InvalidQueryException(string message)
        : base(message)
    {
        Problem = message;
    }

    public InvalidQueryException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problem = message;
    }

    /// <summary>Zero-based offset in the query text.</summary>
    public int Position { get; }

    public string Problem { get; }
}
