using System.CommandLine;
using Bastion.Engine.Errors;
using Google.Protobuf;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Bastion.Cli;

/// <summary>
/// A command group that talks to a server's Cloud Ops API with the official client: the connection options
/// (recursive, so every subcommand takes them), running a subcommand, and printing its result as a table or JSON.
/// </summary>
internal sealed class CloudOpsCommand
{
    private readonly ServerConnection _connection = new(recursive: true);
    private readonly Option<string> _output = new("--output", "-o") { Description = "table or json.", Recursive = true, DefaultValueFactory = _ => "table" };

    public CloudOpsCommand(string name, string description)
    {
        _output.AcceptOnlyFromAmong("table", "json");
        Command = new Command(name, description) { _output };
        _connection.AddTo(Command);
    }

    public Command Command { get; }

    /// <summary>Adds a subcommand whose action calls the Cloud Ops API and returns what to print.</summary>
    public void Add(string name, string description, Func<ParseResult, CloudService, Task<CliResult>> action, params Option[] options)
    {
        var command = new Command(name, description);
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, _) => RunAsync(parse, action));
        Command.Subcommands.Add(command);
    }

    private async Task<int> RunAsync(ParseResult parse, Func<ParseResult, CloudService, Task<CliResult>> action)
    {
        try
        {
            var apiKey = _connection.ApiKey(parse);
            var tls = new TlsOptions { Domain = parse.GetValue(_connection.ServerName), ServerRootCACert = await _connection.CaAsync(parse).ConfigureAwait(false) };
            var client = await TemporalCloudOperationsClient.ConnectAsync(new(apiKey)
            {
                TargetHost = parse.GetValue(_connection.Address),
                Tls = tls,
                Version = "2024-10-01-00",
            }).ConfigureAwait(false);
            var result = await action(parse, client.CloudService).ConfigureAwait(false);
            if (parse.GetValue(_output) == "json")
            {
                Console.WriteLine(JsonFormatter.Default.Format(result.Message));
            }
            else
            {
                result.PrintTable(Console.Out);
            }

            return 0;
        }
        catch (ServiceException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return e.Kind == ErrorKind.InvalidArgument ? 2 : 1;
        }
        catch (RpcException e)
        {
            await Console.Error.WriteLineAsync($"{e.Code}: {e.Message}").ConfigureAwait(false);
            return e.Code == RpcException.StatusCode.InvalidArgument ? 2 : 1;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"{parse.GetValue(_connection.Address)}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
