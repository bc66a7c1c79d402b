using Bastion.Tests.Integration;
using Temporalio.Api.Enums.V1;
using Temporalio.Common;
using Temporalio.Testing;

namespace Bastion.Tests.Cli;

/// <summary>
/// The .NET SDK's own launcher with the options that add arguments (a database file, a UI port, search attributes):
/// Bastion takes all of them. The launcher allows 5 s to start (fixed in the SDK), so this runs alone.
/// </summary>
[Collection(AloneCollection.Name)]
public sealed class SdkLauncherTests
{
    [Fact]
    public async Task StartLocalAsync_WithADatabaseAUiAndSearchAttributes_Starts()
    {
        var directory = Directory.CreateTempSubdirectory("bastion-cli-launcher-");
        try
        {
            var database = Path.Combine(directory.FullName, "launched.db");
            await using (var env = await WorkflowEnvironment.StartLocalAsync(new()
            {
                DevServerOptions = new() { ExistingPath = Path.Combine(AppContext.BaseDirectory, "bastion"), LogLevel = "warn", DatabaseFilename = database },
                UI = true,
                SearchAttributes = [SearchAttributeKey.CreateKeyword("CustomerId"), SearchAttributeKey.CreateLong("Orders")],
            }))
            {
                var listed = await env.Client.Connection.OperatorService.ListSearchAttributesAsync(new() { Namespace = "default" });
                Assert.Equal(IndexedValueType.Keyword, listed.CustomAttributes["CustomerId"]);
                Assert.Equal(IndexedValueType.Int, listed.CustomAttributes["Orders"]);
            }

            Assert.True(File.Exists(database));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
