using Temporalio.Client;
using Cloud = Temporalio.Api.Cloud.CloudService.V1;
using CloudNexus = Temporalio.Api.Cloud.Nexus.V1;

namespace Bastion.Tests.Nexus;

/// <summary>Endpoints for the Nexus tests, made through the Cloud Ops API (the only one that sets the allowlist).</summary>
internal static class NexusTestEndpoints
{
    /// <summary>A new endpoint targeting <paramref name="taskQueue"/> of <paramref name="targetNamespace"/>, callable by <paramref name="allowed"/>; its name.</summary>
    public static async Task<string> CreateAsync(TemporalClient client, string targetNamespace, string taskQueue, string allowed)
    {
        var name = NexusEndpointTests.NewName();
        await client.Connection.CloudService.CreateNexusEndpointAsync(new Cloud.CreateNexusEndpointRequest
        {
            Spec = new CloudNexus.EndpointSpec
            {
                Name = name,
                TargetSpec = new CloudNexus.EndpointTargetSpec { WorkerTargetSpec = new CloudNexus.WorkerTargetSpec { NamespaceId = targetNamespace, TaskQueue = taskQueue } },
                PolicySpecs = { new CloudNexus.EndpointPolicySpec { AllowedCloudNamespacePolicySpec = new CloudNexus.AllowedCloudNamespacePolicySpec { NamespaceId = allowed } } },
            },
        });
        return name;
    }
}
