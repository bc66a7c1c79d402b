using Bastion.Engine.Errors;
using Temporalio.Api.Compute.V1;
using Temporalio.Api.Enums.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// A worker deployment version's compute config (Temporal's serverless workers: scaling groups, each a compute
/// provider — AWS Lambda, ECS, GCP Cloud Run, Kubernetes, a subprocess — and a scaling algorithm, run by Temporal's
/// worker controller). The spec is checked by Temporal's rules; then, as Temporal does with no compute provider
/// enabled, every provider is refused: Bastion starts no workers (it has no cloud credentials and no controller), so
/// it never stores a config that would not act. See docs/compatibility.md.
/// </summary>
internal static class ComputeConfigs
{
    // Temporal's known provider and scaling-algorithm type names (temporal-auto-scaled-workers).
    private static readonly HashSet<string> ProviderTypes = new(StringComparer.Ordinal) { "aws-lambda", "aws-ecs", "subprocess", "k8s", "gcp-cloud-run" };
    private static readonly HashSet<string> ScalerTypes = new(StringComparer.Ordinal) { "no-sync", "rate-based" };

    /// <summary>The scaling groups a create or an update would set: INVALID_ARGUMENT naming the problem; none is accepted.</summary>
    public static void Check(IReadOnlyDictionary<string, ComputeConfigScalingGroup> groups)
    {
        if (groups.Count == 0)
        {
            return; // nothing to provision: removals only, or no config at all
        }

        var seen = new HashSet<TaskQueueType>();
        var catchAll = false;
        foreach (var (id, group) in groups.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            if (id.Length == 0)
            {
                throw ServiceException.InvalidArgument("scaling groups without an ID are not supported");
            }

            if (group.TaskQueueTypes.Count == 0)
            {
                catchAll = catchAll
                    ? throw ServiceException.InvalidArgument($"entry {id}: only one scaling group can have no task types defined")
                    : true;
            }

            foreach (var type in group.TaskQueueTypes)
            {
                if (!seen.Add(type))
                {
                    throw ServiceException.InvalidArgument($"entry {id}: task type {type} appears in more than one entry");
                }

                if (type == TaskQueueType.Unspecified)
                {
                    throw ServiceException.InvalidArgument($"entry {id}: task type undefined not allowed in compute spec");
                }
            }

            var provider = group.Provider?.Type ?? string.Empty;
            if (!ProviderTypes.Contains(provider))
            {
                throw ServiceException.InvalidArgument($"entry {id}: invalid compute provider type '{provider}'");
            }

            if (group.Scaler is { } scaler && !ScalerTypes.Contains(scaler.Type))
            {
                throw ServiceException.InvalidArgument($"entry {id}: invalid scaling algorithm type '{scaler.Type}'");
            }
        }

        var first = groups.OrderBy(g => g.Key, StringComparer.Ordinal).First().Value.Provider.Type;
        throw ServiceException.InvalidArgument(
            $"Could not instantiate compute provider with type '{first}': this server has no compute providers (Bastion does not start workers; run them yourself)");
    }

    /// <summary>The groups an update upserts (each update's whole group).</summary>
    public static Dictionary<string, ComputeConfigScalingGroup> Upserts(IDictionary<string, ComputeConfigScalingGroupUpdate> updates) =>
        updates.ToDictionary(u => u.Key, u => u.Value.ScalingGroup ?? new ComputeConfigScalingGroup(), StringComparer.Ordinal);
}
