using System.Reflection;
using Bastion.Frontend.CloudService;
using Bastion.Frontend.WorkflowService;
using Bastion.Wire;

namespace Bastion.Tests.Wire;

/// <summary>docs/compatibility.md lists every bound method, says "implemented" exactly for those with a handler, and why for the others.</summary>
public sealed class CompatibilityDocTests
{
    [Fact]
    public void CompatibilityTable_MatchesTheDescriptorsAndTheHandlers()
    {
        var rows = File.ReadAllLines(Path.Combine(TestPaths.RepositoryRoot(), "docs", "compatibility.md"))
            .Where(l => l.StartsWith("| WorkflowService |", StringComparison.Ordinal) || l.StartsWith("| OperatorService |", StringComparison.Ordinal)
                || l.StartsWith("| CloudService |", StringComparison.Ordinal) || l.StartsWith("| SsoService |", StringComparison.Ordinal))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        Assert.All(rows.Where(c => c[2] == "not yet"), c => Assert.True(c.Length > 3 && c[3].Length > 0, $"{c[0]}/{c[1]} is \"not yet\" without a reason"));
        var doc = rows.ToDictionary(c => $"{c[0]}/{c[1]}", c => c[2]);
        var handled = typeof(WorkflowServiceHandler).GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Select(m => "WorkflowService/" + m.Name)
            .Concat(typeof(Bastion.Frontend.OperatorService.OperatorServiceHandler).GetMethods(BindingFlags.Public | BindingFlags.Instance)
                .Select(m => "OperatorService/" + m.Name))
            .Concat(typeof(CloudServiceHandler).GetMethods(BindingFlags.Public | BindingFlags.Instance).Select(m => "CloudService/" + m.Name))
            .Concat(typeof(SsoServiceHandler).GetMethods(BindingFlags.Public | BindingFlags.Instance).Select(m => "SsoService/" + m.Name))
            .ToHashSet();
        var expected = GrpcServiceDescriptors.All.SelectMany(s => s.Methods)
            .ToDictionary(m => $"{m.Service.Name}/{m.Name}", m => handled.Contains($"{m.Service.Name}/{m.Name}") ? "implemented" : "not yet");
        Assert.Equal(expected.OrderBy(p => p.Key), doc.OrderBy(p => p.Key));
    }
}
