using Google.Protobuf.Reflection;

namespace Bastion.Wire;

/// <summary>The Temporal services Bastion binds, straight from the descriptors the Temporalio package ships.</summary>
public static class GrpcServiceDescriptors
{
    public static ServiceDescriptor WorkflowService { get; } =
        Temporalio.Api.WorkflowService.V1.ServiceReflection.Descriptor.Services[0];

    public static ServiceDescriptor OperatorService { get; } =
        Temporalio.Api.OperatorService.V1.ServiceReflection.Descriptor.Services[0];

    /// <summary>The Cloud Ops API (<c>temporal.api.cloud.cloudservice.v1.CloudService</c>), on the same listener.</summary>
    public static ServiceDescriptor CloudService { get; } =
        Temporalio.Api.Cloud.CloudService.V1.ServiceReflection.Descriptor.Services[0];

    /// <summary>Bastion's extension of the Cloud Ops API: the account's single sign-on (<c>bastion.cloud.v1.SsoService</c>), on the same listener.</summary>
    public static ServiceDescriptor SsoService { get; } =
        Bastion.Api.Cloud.V1.SsoReflection.Descriptor.Services[0];

    /// <summary>Every service whose methods the security pipeline must classify.</summary>
    public static IReadOnlyList<ServiceDescriptor> All { get; } = [WorkflowService, OperatorService, CloudService, SsoService];

    /// <summary>The gRPC path of a method, e.g. <c>/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution</c>.</summary>
    public static string PathOf(MethodDescriptor method) => "/" + method.Service.FullName + "/" + method.Name;
}
