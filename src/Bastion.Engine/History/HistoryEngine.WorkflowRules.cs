using Bastion.Engine.Rules;
using Temporalio.Api.Workflow.V1;

namespace Bastion.Engine.History;

/// <summary>
/// Workflow rules applied (issue 21), where Temporal's history service applies them: a namespace's rules with an
/// activity-start trigger are evaluated when an attempt of a workflow's activity is about to start — the first
/// attempt when a worker takes it, each retry when the failed attempt is retried and again when it is taken — unless
/// the activity is paused already. A matching rule's action pauses the activity through the one pause path
/// (<see cref="PauseActivity"/>), its pause info naming the rule; unpause, reset and describe treat it as any pause.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>Pauses the activity if one of the namespace's rules matches it; true when it did.</summary>
    private static bool ApplyWorkflowRules(Mutation m, ActivityInfo info)
    {
        // Workflow rules are about workflows' activities: a standalone activity is a run of its own.
        if (info.Paused || m.Rules is not { } cache || m.State.Standalone is not null)
        {
            return false;
        }

        var rules = cache.For(m.State.NamespaceId);
        return rules.Count > 0 && PauseIfAnyMatches(m, info, rules, m.Now);
    }

    /// <summary>The first rule (in id order) that is live, pauses activities and matches pauses it.</summary>
    private static bool PauseIfAnyMatches(Mutation m, ActivityInfo info, IReadOnlyList<CompiledWorkflowRule> rules, DateTime now)
    {
        WorkflowExecutionInfo? run = null;
        foreach (var rule in rules)
        {
            if (rule.IsExpired(now) || !rule.PausesActivity || !rule.Matches(info, () => run ??= ExecutionInfoOf(m.State)))
            {
                continue;
            }

            PauseActivity(m, info, new PauseInfo { Time = m.Now, RuleId = rule.Id, Identity = rule.Identity, Reason = rule.Description });
            return true;
        }

        return false;
    }

    /// <summary>
    /// TriggerWorkflowRule: the rule applied now to each of the run's pending activities that is not paused (a
    /// running attempt goes on and learns of the pause from its heartbeat). Returns whether it paused any.
    /// </summary>
    public Task<bool> TriggerWorkflowRuleAsync(WorkflowKey key, CompiledWorkflowRule rule) =>
        UpdateAsync(key, m =>
        {
            RequireWorkflowRun(m.State, key);
            var applied = false;
            foreach (var info in m.State.Activities.Values.Where(a => !a.Paused).OrderBy(a => a.ScheduledEventId).ToList())
            {
                applied |= PauseIfAnyMatches(m, info, [rule], m.Now);
            }

            return applied;
        });
}
