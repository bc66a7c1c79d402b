using System.Net.Sockets;
using System.Text;
using Bastion.Cli;
using Bastion.Tests.Integration;

namespace Bastion.Tests.Cli;

/// <summary>
/// A server command runs without the framework's precompiled code (<c>DOTNET_ReadyToRun=0</c>, which the runtime reads
/// only from its environment): the process replaces its image in place — the same process id — and keeps its
/// diagnostics endpoint; a variable the operator set is left alone; other commands are not touched.
/// </summary>
public sealed class ServerJitModeTests
{
    [Theory]
    [InlineData(true, "server", "start-dev")]
    [InlineData(true, "server", "start", "--config", "bastion.json")]
    [InlineData(true, "server", "start-dev", "--port", "7233")]
    [InlineData(false, "server")]
    [InlineData(false, "server", "--help")]
    [InlineData(false, "namespace", "create")]
    [InlineData(false, "--version")]
    [InlineData(false)]
    public void OnlyServerCommands_AreRunWithoutPrecompiledCode(bool server, params string[] args) =>
        Assert.Equal(server, ServerJitMode.IsServerCommand(args));

    [Fact]
    public async Task AServerStartedWithoutTheVariable_RunsWithItSet_InTheSameProcess_WithItsDiagnosticsEndpoint()
    {
        var directory = Directory.CreateTempSubdirectory("bastion-jit-").FullName;
        try
        {
            var port = ServerProcess.FreePort();
            using var server = await ServerProcess.StartAsync(port, Path.Combine(directory, "b.db"));

            Assert.Equal("0", server.RunningEnvironment().GetValueOrDefault(ServerJitMode.Variable));
            Assert.True(await DiagnosticsAnswerAsync(server.ProcessId), "the diagnostics endpoint (dotnet-counters, dotnet-trace) did not answer after the image was replaced");
            var client = await TemporalClient.ConnectAsync(new(server.Address) { Namespace = "default" });
            Assert.Equal("default", (await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" })).NamespaceInfo.Name);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(ServerJitMode.Variable)]
    [InlineData(ServerJitMode.LegacyVariable)]
    public async Task TheVariableSetByTheOperator_IsLeftAlone(string name)
    {
        var directory = Directory.CreateTempSubdirectory("bastion-jit-").FullName;
        try
        {
            var port = ServerProcess.FreePort();
            using var server = await ServerProcess.StartAsync(port,
                ["server", "start-dev", "--headless", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--db-filename", Path.Combine(directory, "b.db")],
                ServerProcess.ReadyLine, environment: new Dictionary<string, string> { [name] = "1" });

            var environment = server.RunningEnvironment();
            Assert.Equal("1", environment.GetValueOrDefault(name));
            Assert.Equal(name == ServerJitMode.Variable ? "1" : null, environment.GetValueOrDefault(ServerJitMode.Variable)); // nothing added
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The runtime's diagnostics IPC answers a ProcessInfo request on the process's socket.</summary>
    private static async Task<bool> DiagnosticsAnswerAsync(int processId)
    {
        var socketPath = ServerJitMode.DiagnosticsSockets(processId).SingleOrDefault();
        if (socketPath is null)
        {
            return false;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        // The IPC header: magic, total size (20), command set 4 (process), command 0 (ProcessInfo), reserved.
        var request = new byte[20];
        Encoding.ASCII.GetBytes("DOTNET_IPC_V1\0").CopyTo(request, 0);
        BitConverter.GetBytes((ushort)20).CopyTo(request, 14);
        request[16] = 4;
        await socket.SendAsync(request);
        var answer = new byte[4096];
        var received = await socket.ReceiveAsync(answer).WaitAsync(TimeSpan.FromSeconds(10));
        return received >= 20 && Encoding.ASCII.GetString(answer, 0, 13) == "DOTNET_IPC_V1";
    }
}
