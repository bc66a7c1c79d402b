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
    private readonly Option<string> _address = new("--address") { Description = "The server's gRPC address (default: BASTION_ADDRESS, else 127.0.0.1:7233).", Recursive = true, DefaultValueFactory = _ => Environment.GetEnvironmentVariable("BASTION_ADDRESS") ?? "127.0.0.1:7233" };
    private readonly Option<string?> _apiKey = new("--api-key") { Description = "API key (default: BASTION_API_KEY); prefer the variable, command lines are visible to other users.", Recursive = true };
    private readonly Option<string?> _caPath = new("--tls-ca-path") { Description = "PEM CA that signed the server certificate (default: the system's trusted roots).", Recursive = true };
    private readonly Option<string?> _serverName = new("--tls-server-name") { Description = "Server name to verify (the base domain) when it differs from the address host.", Recursive = true };
    private readonly Option<string> _output = new("--output", "-o") { Description = "table or json.", Recursive = true, DefaultValueFactory = _ => "table" };

    public CloudOpsCommand(string name, string description)
    {
        _output.AcceptOnlyFromAmong("table", "json");
        Command = new Command(name, description) { _address, _apiKey, _caPath, _serverName, _output };
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
            var apiKey = parse.GetValue(_apiKey) ?? Environment.GetEnvironmentVariable("BASTION_API_KEY");
            if (string.IsNullOrEmpty(apiKey))
            {
                throw ServiceException.InvalidArgument("An API key is needed: set BASTION_API_KEY or pass --api-key.");
            }

            var tls = new TlsOptions { Domain = parse.GetValue(_serverName) };
            if (parse.GetValue(_caPath) is { } caPath)
            {
                tls.ServerRootCACert = await File.ReadAllBytesAsync(caPath).ConfigureAwait(false);
            }

            var client = await TemporalCloudOperationsClient.ConnectAsync(new(apiKey)
            {
                TargetHost = parse.GetValue(_address),
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
            await Console.Error.WriteLineAsync($"{parse.GetValue(_address)}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
