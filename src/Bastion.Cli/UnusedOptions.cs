using System.CommandLine;

namespace Bastion.Cli;

/// <summary>
/// Options Bastion accepts without using them, each with the reason: flags of Temporal's own
/// <c>temporal server start-dev</c> (and of its global flags) that make no sense here, so that scripts and SDK test
/// launchers written for Temporal keep working. A given one is reported, never silently dropped.
/// </summary>
internal sealed class UnusedOptions
{
    private readonly List<(Option Option, string Reason)> _options = [];

    public IEnumerable<Option> Options => _options.Select(o => o.Option);

    public void Add(Option option, string reason) => _options.Add((option, reason));

    /// <summary>Writes "Ignoring --x: why" for each of these options given on the command line.</summary>
    public async Task ReportAsync(ParseResult parse, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(error);
        foreach (var (option, reason) in _options)
        {
            if (parse.GetResult(option) is { Implicit: false })
            {
                await error.WriteLineAsync($"Ignoring {option.Name}: {reason}").ConfigureAwait(false);
            }
        }
    }
}
