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

    /// <summary>The forms pflag (Temporal's CLI) takes: short flags with a separate, an attached or an '=' value, '=' on long flags and booleans.</summary>
    [Theory]
    [InlineData("-f b.db -p 7000 -n one -o json")]
    [InlineData("-f=b.db -p=7000 -n=one -o=json")]
    [InlineData("-fb.db -p7000 -none -ojson")]
    [InlineData("--db-filename=b.db --port=7000 --namespace=one --namespace=two --ip=127.0.0.1 --http-port=7243 --ui-port=8233")]
    [InlineData("--headless=true --log-config=false --ui-disable-news-fetch=true --disable-config-file=false --no-json-shorthand-payloads=true")]
    [InlineData("--dynamic-config-value=a.b=\"x\" --search-attribute=Region=Keyword --sqlite-pragma=synchronous=full")]
    public void TemporalsFlagForms_Parse(string arguments)
    {
        var parse = BastionCommand.Create().Parse(["server", "start-dev", .. arguments.Split(' ')]);
        Assert.Empty(parse.Errors);
        if (arguments.Contains("b.db", StringComparison.Ordinal))
        {
            Assert.Equal("b.db", parse.GetValue<string?>("--db-filename"));
            Assert.Equal(7000, parse.GetValue<int>("--port"));
            Assert.Equal("one", parse.GetValue<string[]>("--namespace")![0]);
        }
    }

    [Theory]
    [InlineData("server start-dev --log-level loud")]
    [InlineData("server start-dev --port=seven")]
    [InlineData("server start-dev --encryption=maybe")]
    [InlineData("server start-dev --namespace-aps 0")]
    [InlineData("server start --db-filename b.db --account acme --namespace-rps 0")]
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
