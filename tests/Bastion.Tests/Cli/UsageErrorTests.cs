using System.CommandLine;
using Bastion.Cli;

namespace Bastion.Tests.Cli;

/// <summary>
/// Every <c>bastion</c> command refuses what it does not know (an option, an argument) with an error naming it and
/// exit code 2, before anything runs: a mistyped flag is never quietly dropped. In process: parse errors stop before
/// any command's action.
/// </summary>
public sealed class UsageErrorTests
{
    /// <summary>Every command of the tree, as the words that invoke it (the root is the empty path).</summary>
    public static TheoryData<string> AllCommands()
    {
        var data = new TheoryData<string>();
        void Walk(Command command, string path)
        {
            data.Add(path);
            foreach (var sub in command.Subcommands)
            {
                Walk(sub, (path + " " + sub.Name).Trim());
            }
        }

        Walk(BastionCommand.Create(), string.Empty);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllCommands))]
    public async Task AnUnknownOption_OnAnyCommand_IsAUsageError_NamingIt(string command)
    {
        foreach (var unknown in new[] { "--no-such-option", "--no-such-option=1" })
        {
            var (exitCode, error) = await InvokeAsync($"{command} {unknown}");
            Assert.Equal(BastionCommand.UsageError, exitCode);
            Assert.Contains($"'{unknown}'", error, StringComparison.Ordinal);
            Assert.Contains($"Run '{("bastion " + command).Trim()} --help'", error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("server start-dev data.db", "'data.db'")]
    [InlineData("server start --db-filename b.db --account acme stray", "'stray'")]
    [InlineData("namespace describe -f b.db --account acme -n payments extra", "'extra'")]
    [InlineData("keys list -f b.db extra", "'extra'")]
    [InlineData("bogus", "'bogus'")]
    public async Task AStrayArgument_IsAUsageError_NamingIt(string arguments, string named)
    {
        var (exitCode, error) = await InvokeAsync(arguments);
        Assert.Equal(BastionCommand.UsageError, exitCode);
        Assert.Contains(named, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("server start-dev --db-file data.db", "--db-filename")]
    [InlineData("server start-dev --db-file=data.db", "--db-filename")]
    [InlineData("server start --db-file data.db", "--db-filename")]
    [InlineData("server start-dev --namespaces payments", "--namespace")]
    public async Task AMistypedOption_IsNamed_WithTheOptionMeant(string arguments, string meant)
    {
        var (exitCode, error) = await InvokeAsync(arguments);
        Assert.Equal(BastionCommand.UsageError, exitCode);
        Assert.Contains($"Did you mean {meant}?", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("server start-dev --log-level loud")]
    [InlineData("server start-dev --port=seven")]
    [InlineData("server start-dev --encryption=maybe")]
    public async Task ABadValue_IsAUsageError(string arguments) =>
        Assert.Equal(BastionCommand.UsageError, (await InvokeAsync(arguments)).ExitCode);

    private static async Task<(int ExitCode, string Error)> InvokeAsync(string arguments)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await BastionCommand.InvokeAsync(arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries), new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, error.ToString());
    }
}
