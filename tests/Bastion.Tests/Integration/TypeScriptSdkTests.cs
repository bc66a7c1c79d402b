using System.Diagnostics;
using System.Text.Json;

namespace Bastion.Tests.Integration;

/// <summary>
/// The official TypeScript SDK (client + worker 1.24.0, tests/ts-sdk) runs a workflow with an activity, a signal
/// and a query against Bastion, what a new user tries first with search attributes and queries, and a Nexus operation between two namespaces. Its npm packages are installed on first use (npm ci from the committed lock file).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class TypeScriptSdkTests(ServerFixture fixture)
{
    [Fact]
    public async Task TypeScriptSdk_RunsAnActivityASignalAndAQuery()
    {
        using var result = await RunScriptAsync("run.mjs", "result");
        Assert.Equal("Hello, TypeScript! Bye.", result.RootElement.GetProperty("result").GetString());
        Assert.Equal("Hello, TypeScript!", result.RootElement.GetProperty("queried").GetString());
        Assert.Equal("COMPLETED", result.RootElement.GetProperty("status").GetString());
    }

    /// <summary>
    /// The untyped <c>searchAttributes: { Name: ['x'] }</c> form (a list for a Keyword attribute) is accepted at start
    /// and in an upsert, describe shows both, and a query sent before any worker ran the workflow is answered by
    /// the first workflow task (issue 13, item 9).
    /// </summary>
    [Fact]
    public async Task TypeScriptSdk_ListFormKeywordAttributes_DescribeAfterUpsert_QueryBeforeTheFirstTask()
    {
        using var result = await RunScriptAsync("search-attributes.mjs", "startedWith");
        var root = result.RootElement;
        Assert.Equal("started", Assert.Single(root.GetProperty("startedWith").EnumerateArray()).GetString());
        Assert.Equal("tagged", root.GetProperty("queried").GetString());
        Assert.Equal("upserted", Assert.Single(root.GetProperty("upserted").EnumerateArray()).GetString());
        Assert.Equal("done", root.GetProperty("result").GetString());
    }

    /// <summary>
    /// A Nexus operation between two namespaces with the TypeScript SDK (issue 19): an endpoint made with
    /// OperatorService targeting <c>other</c>, <c>default</c> added to its allowed callers with the Cloud Ops API, a
    /// handler worker in <c>other</c> (nexus-rpc service, @temporalio/nexus handlers) and a caller workflow in
    /// <c>default</c> that runs a sync operation and one backed by a workflow run.
    /// </summary>
    [Fact]
    public async Task TypeScriptSdk_RunsSyncAndWorkflowBackedNexusOperationsBetweenNamespaces()
    {
        using var result = await RunScriptAsync("nexus.mjs", "endpointId");
        var root = result.RootElement;
        Assert.Equal("Hello, TypeScript!", root.GetProperty("sync").GetString());
        Assert.Equal("Later, TypeScript!", root.GetProperty("async").GetString());
        Assert.True(root.GetProperty("asyncToken").GetBoolean(), "the workflow-backed operation should have started asynchronously with a token");
    }

    /// <summary>Runs a script of tests/ts-sdk against the server and parses the JSON line it prints.</summary>
    private async Task<JsonDocument> RunScriptAsync(string script, string firstProperty)
    {
        var dir = Path.Combine(TestPaths.RepositoryRoot(), "tests", "ts-sdk");
        // A node_modules from before a dependency was added is refreshed too.
        string[] packages = [Path.Combine("@temporalio", "worker"), Path.Combine("@temporalio", "nexus"), "nexus-rpc"];
        if (!packages.All(p => Directory.Exists(Path.Combine(dir, "node_modules", p))))
        {
            var (installed, log) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], dir, TimeSpan.FromMinutes(5));
            Assert.True(installed, "npm ci failed in tests/ts-sdk:\n" + log);
        }

        var (ok, output) = await RunAsync("node", [script, fixture.Server.Address], dir, TimeSpan.FromMinutes(2));
        Assert.True(ok, $"the TypeScript SDK run of {script} failed:\n" + output);
        var prefix = "{\"" + firstProperty + "\"";
        return JsonDocument.Parse(output.Split('\n').Last(l => l.StartsWith(prefix, StringComparison.Ordinal)));
    }

    private static async Task<(bool Ok, string Output)> RunAsync(string file, string[] arguments, string directory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (false, $"timed out after {timeout}\n{await stdout}\n{await stderr}");
        }

        var output = await stdout;
        var errors = await stderr;
        return (process.ExitCode == 0, output + "\n" + (errors.Length > 4000 ? errors[^4000..] : errors));
    }
}
