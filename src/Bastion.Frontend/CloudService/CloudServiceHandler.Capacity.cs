using Bastion.Engine.Namespaces;
using Bastion.Security.RateLimits;
using Grpc.Core;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Namespace.V1;

namespace Bastion.Frontend.CloudService;

/// <summary>
/// Namespace capacity as Temporal Cloud describes it: on-demand (the server's default limits) or provisioned in
/// Temporal Resource Units (<see cref="NamespaceLimits"/>), set with <c>UpdateNamespace</c>'s <c>capacity_spec</c>.
/// A change takes effect at once and is never pending, so <c>latest_request</c> is absent.
/// </summary>
internal sealed partial class CloudServiceHandler
{
    public Task<GetNamespaceCapacityInfoResponse> GetNamespaceCapacityInfo(GetNamespaceCapacityInfoRequest request, ServerCallContext context)
    {
        var entry = NamespaceNamed(CallerOf(context), request.Namespace);
        var options = new NamespaceCapacityInfo.Types.CapacityModeOptions
        {
            OnDemand = new NamespaceCapacityInfo.Types.CapacityModeOptions.Types.OnDemand { ApsLimit = pipelineOptions.NamespaceActionsPerSecond },
            Provisioned = new NamespaceCapacityInfo.Types.CapacityModeOptions.Types.Provisioned { MaxAvailableTruValue = NamespaceLimits.MaxUnits },
        };
        options.Provisioned.ValidTruValues.AddRange(NamespaceLimits.OfferedUnits);
        var (mean, p90, p99) = limiter.ActionsPerSecond(entry);
        return Task.FromResult(new GetNamespaceCapacityInfoResponse
        {
            CapacityInfo = new NamespaceCapacityInfo
            {
                Namespace = entry.FullName,
                CurrentCapacity = CapacityOf(entry),
                ModeOptions = options,
                Stats = new NamespaceCapacityInfo.Types.Stats
                {
                    Aps = new NamespaceCapacityInfo.Types.Stats.Types.Summary { Mean = mean, P90 = p90, P99 = p99 },
                },
            },
        });
    }

    private static Capacity CapacityOf(NamespaceEntry entry) => entry.ProvisionedCapacity is { } units
        ? new Capacity { Provisioned = new Capacity.Types.Provisioned { CurrentValue = units } }
        : new Capacity { OnDemand = new Capacity.Types.OnDemand() };
}
