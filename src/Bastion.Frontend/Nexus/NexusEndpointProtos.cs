using Bastion.Engine.Namespaces;
using Bastion.Engine.Nexus;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Nexus.V1;
using CloudNexus = Temporalio.Api.Cloud.Nexus.V1;

namespace Bastion.Frontend.Nexus;

/// <summary>
/// A Nexus endpoint in OperatorService's shape (<c>temporal.api.nexus.v1</c>) and the Cloud Ops API's
/// (<c>temporal.api.cloud.nexus.v1</c>): both describe one <see cref="NexusEndpointEntry"/>.
/// </summary>
internal static class NexusEndpointProtos
{
    /// <summary>OperatorService's spec; it has no allowlist, so an update keeps the endpoint's.</summary>
    public static NexusEndpointSpec FromOperator(EndpointSpec? spec) => new(
        spec?.Name ?? string.Empty,
        spec?.Description is { } description ? description.ToByteArray() : null,
        spec?.Target?.VariantCase == EndpointTarget.VariantOneofCase.Worker ? spec.Target.Worker.Namespace : null,
        spec?.Target?.VariantCase == EndpointTarget.VariantOneofCase.Worker ? spec.Target.Worker.TaskQueue : null,
        spec?.Target?.VariantCase == EndpointTarget.VariantOneofCase.External ? spec.Target.External.Url : null,
        AllowedCallerNamespaces: null);

    /// <summary>The Cloud Ops API's spec: a worker target and the allowed caller namespaces (its only policy kind).</summary>
    public static NexusEndpointSpec FromCloud(CloudNexus.EndpointSpec? spec)
    {
        var worker = spec?.TargetSpec?.WorkerTargetSpec;
        var description = spec?.Description is { } payload ? payload.ToByteArray() : null;
        return new NexusEndpointSpec(
            spec?.Name ?? string.Empty,
            description,
            worker?.NamespaceId,
            worker?.TaskQueue,
            ExternalUrl: null,
            (spec?.PolicySpecs ?? []).Select(p => p.AllowedCloudNamespacePolicySpec?.NamespaceId ?? string.Empty).ToList());
    }

    public static Endpoint ToOperator(NexusEndpointEntry entry, NamespaceRegistry namespaces)
    {
        var spec = new EndpointSpec { Name = entry.Name, Target = new EndpointTarget() };
        if (entry.Description is { Length: > 0 } description)
        {
            spec.Description = Payload.Parser.ParseFrom(description);
        }

        if (entry.TargetNamespaceId is { } namespaceId)
        {
            spec.Target.Worker = new EndpointTarget.Types.Worker { Namespace = NameOf(namespaces, namespaceId), TaskQueue = entry.TargetTaskQueue ?? string.Empty };
        }
        else
        {
            spec.Target.External = new EndpointTarget.Types.External { Url = entry.ExternalUrl ?? string.Empty };
        }

        return new Endpoint
        {
            Id = entry.Id,
            Version = entry.Version,
            Spec = spec,
            CreatedTime = Ts(entry.CreatedTime),
            LastModifiedTime = Ts(entry.LastModifiedTime),
            UrlPrefix = entry.UrlPrefix,
        };
    }

    public static CloudNexus.Endpoint ToCloud(NexusEndpointEntry entry, NamespaceRegistry namespaces)
    {
        var spec = new CloudNexus.EndpointSpec { Name = entry.Name };
        if (entry.Description is { Length: > 0 } description)
        {
            spec.Description = Payload.Parser.ParseFrom(description);
        }

        if (entry.TargetNamespaceId is { } namespaceId)
        {
            spec.TargetSpec = new CloudNexus.EndpointTargetSpec
            {
                WorkerTargetSpec = new CloudNexus.WorkerTargetSpec { NamespaceId = CloudNameOf(namespaces, namespaceId), TaskQueue = entry.TargetTaskQueue ?? string.Empty },
            };
        }

        spec.PolicySpecs.AddRange(entry.AllowedCallerNamespaceIds.Select(id => new CloudNexus.EndpointPolicySpec
        {
            AllowedCloudNamespacePolicySpec = new CloudNexus.AllowedCloudNamespacePolicySpec { NamespaceId = CloudNameOf(namespaces, id) },
        }));
        return new CloudNexus.Endpoint
        {
            Id = entry.Id,
            ResourceVersion = entry.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Spec = spec,
            State = Temporalio.Api.Cloud.Resource.V1.ResourceState.Active,
            CreatedTime = Ts(entry.CreatedTime),
            LastModifiedTime = Ts(entry.LastModifiedTime),
        };
    }

    /// <summary>A namespace as OperatorService names it (bare in the dev account); a deleted one by its id.</summary>
    private static string NameOf(NamespaceRegistry namespaces, string id) =>
        namespaces.FindById(id) is { } ns ? NexusEndpointRegistry.DisplayName(ns) : id;

    /// <summary>A namespace as the Cloud Ops API names it: <c>name.account</c>.</summary>
    private static string CloudNameOf(NamespaceRegistry namespaces, string id) => namespaces.FindById(id)?.FullName ?? id;

    private static Timestamp Ts(DateTime time) => Timestamp.FromDateTime(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}
