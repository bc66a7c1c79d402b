using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;

namespace Bastion.Cli;

/// <summary>
/// <c>bastion --version</c>: the build's version and commit, and the Temporal API it speaks (the version of the
/// <c>Temporalio</c> package whose protos it serves), e.g. <c>bastion 0.1.0 (commit 7e3fd58, Temporal API from Temporalio 1.22.0)</c>.
/// </summary>
internal sealed class VersionAction : SynchronousCommandLineAction
{
    public static string Text
    {
        get
        {
            var informational = typeof(VersionAction).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
            var plus = informational.IndexOf('+', StringComparison.Ordinal);
            var version = plus < 0 ? informational : informational[..plus];
            var commit = plus < 0 ? "unknown" : informational[(plus + 1)..][..Math.Min(7, informational.Length - plus - 1)];
            var temporal = typeof(Temporalio.Client.TemporalClient).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "unknown";
            return $"bastion {version} (commit {commit}, Temporal API from Temporalio {temporal})";
        }
    }

    public override int Invoke(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        parseResult.InvocationConfiguration.Output.WriteLine(Text);
        return 0;
    }

    public static void Install(RootCommand root) => root.Options.OfType<VersionOption>().Single().Action = new VersionAction();
}
