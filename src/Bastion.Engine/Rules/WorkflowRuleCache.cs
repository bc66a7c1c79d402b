using System.Collections.Concurrent;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Temporalio.Api.Rules.V1;

namespace Bastion.Engine.Rules;

/// <summary>
/// Each namespace's workflow rules, compiled, by namespace id: what an activity dispatch asks, so a namespace without
/// rules costs one dictionary read. Rules live in the namespace's record (<see cref="NamespaceEntry.WorkflowRules"/>);
/// the set is rebuilt whenever the registry caches a new entry — a rule created or deleted here, or the record
/// re-read from the store on another node of a cluster (<see cref="NamespaceRegistry.RefreshAsync"/>).
/// </summary>
internal sealed class WorkflowRuleCache
{
    private static readonly IReadOnlyList<CompiledWorkflowRule> s_none = [];

    private readonly ConcurrentDictionary<string, IReadOnlyList<CompiledWorkflowRule>> _byNamespace = new(StringComparer.Ordinal);
    private readonly NamespaceRegistry _namespaces;

    public WorkflowRuleCache(NamespaceRegistry namespaces)
    {
        _namespaces = namespaces;

        // Set (not added) on a change: a reader that compiled an older entry concurrently can only add before this.
        namespaces.Changed += (entry, removed) => _byNamespace[entry.Id] = removed ? s_none : CompileAll(entry);
    }

    /// <summary>The namespace's rules in id order (empty when it has none or is unknown).</summary>
    public IReadOnlyList<CompiledWorkflowRule> For(string namespaceId)
    {
        if (_byNamespace.TryGetValue(namespaceId, out var rules))
        {
            return rules;
        }

        var entry = _namespaces.FindById(namespaceId);
        return _byNamespace.GetOrAdd(namespaceId, entry is null ? s_none : CompileAll(entry));
    }

    /// <summary>
    /// Every stored rule that compiles. Rules are checked when created; one stored before that check (or against
    /// attributes since removed) is left out rather than failing every dispatch.
    /// </summary>
    private static IReadOnlyList<CompiledWorkflowRule> CompileAll(NamespaceEntry entry)
    {
        if (entry.WorkflowRules.Count == 0)
        {
            return s_none;
        }

        var compiled = new List<CompiledWorkflowRule>(entry.WorkflowRules.Count);
        foreach (var (_, bytes) in entry.WorkflowRules.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            try
            {
                compiled.Add(CompiledWorkflowRule.Compile(WorkflowRule.Parser.ParseFrom(bytes), entry));
            }
            catch (ServiceException)
            {
                // Not applicable as stored; see the summary.
            }
        }

        return compiled;
    }
}
