using Bastion.Engine.Errors;
using Bastion.Engine.History;
using Bastion.Engine.Namespaces;
using Bastion.Engine.Visibility;
using Bastion.Visibility;
using Bastion.Visibility.Query;
using Temporalio.Api.Rules.V1;
using Temporalio.Api.Workflow.V1;

namespace Bastion.Engine.Rules;

/// <summary>
/// A workflow rule ready to evaluate: its activity predicate compiled, its visibility query bound to the namespace's
/// attributes (so a rule is checked once, when created, and costs no parsing when an activity starts).
/// </summary>
internal sealed class CompiledWorkflowRule
{
    private readonly ActivityPredicate? _predicate;
    private readonly Expr? _runFilter;

    private CompiledWorkflowRule(WorkflowRuleSpec spec, ActivityPredicate? predicate, Expr? runFilter, string identity, string description)
    {
        Id = spec.Id;
        Expires = spec.ExpirationTime?.ToDateTime();
        PausesActivity = spec.Actions.Any(a => a.VariantCase == WorkflowRuleAction.VariantOneofCase.ActivityPause);
        _predicate = predicate;
        _runFilter = runFilter;
        Identity = identity;
        Description = description;
    }

    public string Id { get; }

    public DateTime? Expires { get; }

    public bool PausesActivity { get; }

    /// <summary>Who created the rule: the identity a pause by it shows (Temporal's <c>PauseInfo.Rule.identity</c>).</summary>
    public string Identity { get; }

    /// <summary>The rule's description: the reason a pause by it shows.</summary>
    public string Description { get; }

    public bool IsExpired(DateTime now) => Expires is { } expires && expires < now;

    /// <summary>
    /// Compiles a rule's spec for <paramref name="ns"/>; a predicate or visibility query Temporal's matcher would
    /// fail on is INVALID_ARGUMENT naming the problem.
    /// </summary>
    public static CompiledWorkflowRule Compile(WorkflowRuleSpec spec, NamespaceEntry ns, string identity, string description)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ActivityPredicate? predicate = null;
        if (spec.TriggerCase == WorkflowRuleSpec.TriggerOneofCase.ActivityStart)
        {
            try
            {
                predicate = ActivityPredicate.Compile(spec.ActivityStart.Predicate);
            }
            catch (InvalidQueryException e)
            {
                throw ServiceException.InvalidArgument($"Invalid activity predicate {ServiceException.Quote(spec.ActivityStart.Predicate)}: {e.Message}.");
            }
        }

        var runFilter = spec.VisibilityQuery.Length > 0 ? VisibilityReader.Bind(ns, spec.VisibilityQuery, forCount: false).Filter : null;
        return new CompiledWorkflowRule(spec, predicate, runFilter, identity, description);
    }

    public static CompiledWorkflowRule Compile(WorkflowRule rule, NamespaceEntry ns)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return Compile(rule.Spec ?? new WorkflowRuleSpec(), ns, rule.CreatedByIdentity, rule.Description);
    }

    /// <summary>
    /// Whether the rule's trigger matches the activity and its visibility query the run (read only when needed:
    /// building the run's row is the costly part). A rule without an activity-start trigger matches nothing.
    /// </summary>
    public bool Matches(ActivityInfo activity, Func<WorkflowExecutionInfo> run) =>
        _predicate is not null && _predicate.Matches(activity) && (_runFilter is null || VisibilityProtection.Matches(_runFilter, run()));
}
