using System.Net;
using System.Net.Sockets;
using Bastion.Tests.Integration;

namespace Bastion.Tests.Server;

/// <summary>
/// The server is configured by its own options only: an <c>appsettings.json</c> in the working directory that names a
/// Kestrel endpoint (as the framework's default builders would honour) opens no listener.
/// </summary>
public sealed class ServerHostTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bastion-host-").FullName;

    [Fact]
    public async Task AnAppSettingsFileInTheWorkingDirectory_AddsNoListener()
    {
        var stray = ServerProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(_directory, "appsettings.json"),
            $$"""{ "Kestrel": { "Endpoints": { "Stray": { "Url": "http://127.0.0.1:{{stray}}" } } }, "urls": "http://127.0.0.1:{{stray}}" }""");
        var port = ServerProcess.FreePort();
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        using var server = await ServerProcess.StartAsync(port,
            ["server", "start-dev", "--port", port.ToString(invariant), "--db-filename", Path.Combine(_directory, "bastion.db"), "--headless", "--log-level", "warn"],
            ServerProcess.ReadyLine, _directory);

        Assert.True(await AcceptsAsync(port)); // the server is up: its own listener answers
        Assert.False(await AcceptsAsync(stray));
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
