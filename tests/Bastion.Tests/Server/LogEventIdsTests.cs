using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Bastion.Tests.Server;

/// <summary>
/// Log event ids are stable and listed in one place, the table in <c>docs/operations.md</c>: every
/// <c>[LoggerMessage]</c> in Bastion's assemblies has an explicit id, no id is used twice, and each is in the table.
/// </summary>
public sealed class LogEventIdsTests
{
    private static readonly string[] s_assemblies =
    [
        "bastion", "Bastion.Server", "Bastion.Frontend", "Bastion.Security", "Bastion.Engine", "Bastion.Storage", "Bastion.Storage.Sqlite",
        "Bastion.Storage.Postgres", "Bastion.Wire", "Bastion.Visibility", "Bastion.Codec",
    ];

    private static List<(int Id, string Where)> EventIds() =>
    [
        .. from name in s_assemblies
           from type in Assembly.Load(name).GetTypes()
           from method in type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
           let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
           where attribute is not null
           select (attribute.EventId, $"{type.FullName}.{method.Name}"),
    ];

    [Fact]
    public void EveryLogMessage_HasAnExplicitIdOfItsOwn()
    {
        var ids = EventIds();
        Assert.True(ids.Count > 30, $"found only {ids.Count} log messages");
        Assert.All(ids, e => Assert.True(e.Id > 0, $"{e.Where} has no event id"));
        var reused = ids.GroupBy(e => e.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Where))}");
        Assert.Empty(reused);
    }

    [Fact]
    public void EveryEventId_IsInTheOperationsGuide()
    {
        var guide = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot(), "docs", "operations.md"));
        var missing = EventIds().Where(e => !guide.Contains($"| {e.Id} |", StringComparison.Ordinal)).Select(e => $"{e.Id} ({e.Where})");
        Assert.Empty(missing);
    }
}
