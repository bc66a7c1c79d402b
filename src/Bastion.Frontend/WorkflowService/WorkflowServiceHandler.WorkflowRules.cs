using Bastion.Engine.Errors;
using Bastion.Engine.Rules;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Temporalio.Api.Rules.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// Workflow rules, as Temporal's server keeps them: namespace-level, stored in the namespace's record (so durable and
/// seen by every node), at most <c>frontend.maxWorkflowRulesPerNamespace</c> (an expired rule makes room), with
/// Temporal's texts. Like Temporal, the RPCs are UNIMPLEMENTED unless <c>frontend.workflowRulesAPIsEnabled</c> is on,
/// TriggerWorkflowRule too. Rules are applied by the engine (<c>HistoryEngine.WorkflowRules</c>); see docs/compatibility.md.
/// </summary>
internal sealed partial class WorkflowServiceHandler
{
    private static readonly SemaphoreSlim s_rulesLock = new(1, 1);

    public async Task<CreateWorkflowRuleResponse> CreateWorkflowRule(CreateWorkflowRuleRequest request, ServerCallContext context)
    {
        RequireWorkflowRules(nameof(CreateWorkflowRule));
        var spec = request.Spec ?? throw ServiceException.InvalidArgument("Rule Specification is not set.");
        if (spec.Id.Length == 0)
        {
            throw ServiceException.InvalidArgument("Workflow Rule ID is not set.");
        }

        if (spec.Id.Length > Validation.MaxIdLength)
        {
            throw ServiceException.InvalidArgument("Workflow Rule Id length exceeds limit.");
        }

        var rule = new WorkflowRule
        {
            Spec = spec,
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
            CreatedByIdentity = request.Identity,
            Description = request.Description,
        };

        // Checked now, so a rule that is stored is one the dispatch path can apply (Temporal finds out at dispatch).
        CompiledWorkflowRule.Compile(rule, NamespaceOf(context));
        await ChangeRulesAsync(context, rules =>
        {
            if (rules.Count >= options.MaxWorkflowRulesPerNamespace)
            {
                RemoveOldestExpired(rules);
            }

            if (rules.Count >= options.MaxWorkflowRulesPerNamespace)
            {
                throw ServiceException.InvalidArgument($"Workflow Rule limit exceeded. Max: {options.MaxWorkflowRulesPerNamespace}");
            }

            if (rules.ContainsKey(spec.Id))
            {
                throw ServiceException.InvalidArgument("Workflow Rule with this ID already exists.");
            }

            rules[spec.Id] = rule.ToByteArray();
        }).ConfigureAwait(false);
        return new CreateWorkflowRuleResponse { Rule = rule };
    }

    public Task<DescribeWorkflowRuleResponse> DescribeWorkflowRule(DescribeWorkflowRuleRequest request, ServerCallContext context)
    {
        RequireWorkflowRules(nameof(DescribeWorkflowRule));
        var id = RequireRuleId(request.RuleId);
        var rules = namespaces.Resolve(NamespaceOf(context).FullName).WorkflowRules;
        return Task.FromResult(new DescribeWorkflowRuleResponse
        {
            Rule = rules.TryGetValue(id, out var rule) ? WorkflowRule.Parser.ParseFrom(rule) : throw RuleNotFound(),
        });
    }

    public async Task<DeleteWorkflowRuleResponse> DeleteWorkflowRule(DeleteWorkflowRuleRequest request, ServerCallContext context)
    {
        RequireWorkflowRules(nameof(DeleteWorkflowRule));
        var id = RequireRuleId(request.RuleId);
        await ChangeRulesAsync(context, rules =>
        {
            if (!rules.Remove(id))
            {
                throw RuleNotFound();
            }
        }).ConfigureAwait(false);
        return new DeleteWorkflowRuleResponse();
    }

    public Task<ListWorkflowRulesResponse> ListWorkflowRules(ListWorkflowRulesRequest request, ServerCallContext context)
    {
        RequireWorkflowRules(nameof(ListWorkflowRules));
        var response = new ListWorkflowRulesResponse();
        foreach (var (_, rule) in namespaces.Resolve(NamespaceOf(context).FullName).WorkflowRules.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            response.Rules.Add(WorkflowRule.Parser.ParseFrom(rule));
        }

        return Task.FromResult(response);
    }

    /// <summary>
    /// Applies a rule — a stored one by id, or a spec given inline (its id and expiration unused, as the API says) —
    /// to one workflow's pending activities now. Temporal's server leaves this UNIMPLEMENTED; Bastion implements it
    /// behind the same setting as the other rule APIs.
    /// </summary>
    public async Task<TriggerWorkflowRuleResponse> TriggerWorkflowRule(TriggerWorkflowRuleRequest request, ServerCallContext context)
    {
        RequireWorkflowRules(nameof(TriggerWorkflowRule));
        var ns = NamespaceOf(context);
        var rule = request.RuleCase switch
        {
            TriggerWorkflowRuleRequest.RuleOneofCase.Id => CompiledWorkflowRule.Compile(
                namespaces.Resolve(ns.FullName).WorkflowRules.TryGetValue(request.Id, out var stored) ? WorkflowRule.Parser.ParseFrom(stored) : throw RuleNotFound(),
                ns),
            TriggerWorkflowRuleRequest.RuleOneofCase.Spec => CompiledWorkflowRule.Compile(
                new WorkflowRule { Spec = InlineSpec(request.Spec), CreatedByIdentity = request.Identity },
                ns),
            _ => throw ServiceException.InvalidArgument("Either Workflow Rule ID or Rule Specification should be set on request."),
        };
        var key = await engine.ResolveAsync(ns.Id, Validation.RequireId(request.Execution?.WorkflowId, "WorkflowId"), request.Execution?.RunId).ConfigureAwait(false);
        return new TriggerWorkflowRuleResponse { Applied = await engine.TriggerWorkflowRuleAsync(key, rule).ConfigureAwait(false) };
    }

    private static WorkflowRuleSpec InlineSpec(WorkflowRuleSpec spec)
    {
        var inline = spec.Clone();
        inline.ExpirationTime = null;
        return inline;
    }

    private void RequireWorkflowRules(string method)
    {
        if (!options.WorkflowRulesApis)
        {
            throw ServiceException.Unimplemented($"method {method} not supported");
        }
    }

    private static string RequireRuleId(string id) => id.Length > 0 ? id : throw ServiceException.InvalidArgument("Workflow Rule ID is not set.");

    private static ServiceException RuleNotFound() => ServiceException.InvalidArgument("Workflow Rule with this ID not Found.");

    /// <summary>Read, change and store the namespace's rules, one change at a time.</summary>
    private async Task ChangeRulesAsync(ServerCallContext context, Action<Dictionary<string, byte[]>> change)
    {
        await s_rulesLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = namespaces.Resolve(NamespaceOf(context).FullName);
            var rules = new Dictionary<string, byte[]>(current.WorkflowRules, StringComparer.Ordinal);
            change(rules);
            await namespaces.UpdateAsync(current with { WorkflowRules = rules }, current.Version).ConfigureAwait(false);
        }
        finally
        {
            s_rulesLock.Release();
        }
    }

    /// <summary>Temporal's room-making at the limit: the rule whose expiration time is earliest (only among rules that have one).</summary>
    private static void RemoveOldestExpired(Dictionary<string, byte[]> rules)
    {
        var oldest = rules
            .Select(r => (r.Key, Rule: WorkflowRule.Parser.ParseFrom(r.Value)))
            .Where(r => r.Rule.Spec?.ExpirationTime is not null)
            .OrderBy(r => r.Rule.Spec.ExpirationTime.ToDateTimeOffset())
            .Select(r => r.Key)
            .FirstOrDefault();
        if (oldest is not null)
        {
            rules.Remove(oldest);
        }
    }
}
