namespace Bastion.Cli;

/// <summary>The per-namespace rate-limit flags of <c>start</c> and <c>start-dev</c>.</summary>
internal static class LimitSyntax
{
    public const string RequestsDescription = "Requests per second of each on-demand namespace (default 10000); a namespace's provisioned capacity replaces it.";

    public const string ActionsDescription = "Actions per second of each on-demand namespace (default 2000); a namespace's provisioned capacity replaces it.";

    /// <summary>A limit given, checked: at least 1.</summary>
    public static int? Positive(string option, int? value) =>
        value is null or >= 1 ? value : throw new ArgumentException($"{option} {value}: the limit must be at least 1.");
}
