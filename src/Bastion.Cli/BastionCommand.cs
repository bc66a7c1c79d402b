using System.CommandLine;
using System.CommandLine.Invocation;

namespace Bastion.Cli;

/// <summary>The <c>bastion</c> command line.</summary>
internal static class BastionCommand
{
    /// <summary>
    /// The exit code of a usage error: an unknown option, a stray argument, a missing or bad value. 1 means the
    /// command was understood but failed (a port in use, a refused call).
    /// </summary>
    public const int UsageError = 2;

    public static RootCommand Create()
    {
        var root = new RootCommand("Bastion: a self-hostable, secure Temporal-compatible server.");
        VersionAction.Install(root);
        var server = new Command("server", "Run a Bastion server.");
        server.Subcommands.Add(StartDevCommand.Create());
        server.Subcommands.Add(StartCommand.Create());
        root.Subcommands.Add(server);
        root.Subcommands.Add(CertsCommand.Create());
        root.Subcommands.Add(NamespaceCommand.Create());
        root.Subcommands.Add(AuditCommand.Create());
        root.Subcommands.Add(KeysCommand.Create());
        root.Subcommands.Add(ClusterCommand.Create());
        root.Subcommands.Add(CodecServerCommand.Create());
        root.Subcommands.Add(OperatorCommand.Create());
        root.Subcommands.Add(UserCommand.Create());
        root.Subcommands.Add(ServiceAccountCommand.Create());
        root.Subcommands.Add(ApiKeyCommand.Create());
        root.Subcommands.Add(GroupCommand.Create());
        root.Subcommands.Add(SsoCommand.Create());
        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>. Every command treats an unknown option or argument as an error, so
    /// nothing runs with a mistyped flag quietly dropped: the errors name the tokens, suggest the option meant and
    /// the exit code is <see cref="UsageError"/>.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, InvocationConfiguration? configuration = null)
    {
        // SIGTERM and Ctrl+C cancel the command; a server then drains (ServerOptions.ShutdownTimeout) and stops. The
        // library's default would end the process 2 s after the signal, cutting the drain short.
        configuration ??= new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(60) };
        var parse = Create().Parse(args);
        if (parse.Action is not ParseErrorAction parseError)
        {
            return await parse.InvokeAsync(configuration).ConfigureAwait(false);
        }

        var hints = OptionSuggestions.For(parse);
        parseError.ShowHelp = false; // the errors, not a page of help that scrolls them away
        parseError.ShowTypoCorrections = hints.Count == 0;
        await parse.InvokeAsync(configuration).ConfigureAwait(false);
        var error = configuration?.Error ?? Console.Error;
        foreach (var hint in hints)
        {
            await error.WriteLineAsync(hint).ConfigureAwait(false);
        }

        await error.WriteLineAsync($"Run '{OptionSuggestions.CommandPath(parse)} --help' for its options.").ConfigureAwait(false);
        return UsageError;
    }
}
