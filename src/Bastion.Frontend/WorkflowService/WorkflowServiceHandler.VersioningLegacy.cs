using Bastion.Engine.Errors;
using Grpc.Core;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// The worker-versioning APIs Temporal has retired, answered as Temporal's current server answers them: the
/// pre-release deployment APIs are UNIMPLEMENTED; the build-id compatibility (v0.1) and versioning-rules (v0.2) APIs
/// are PERMISSION_DENIED unless <c>frontend.workerVersioningDataAPIs</c> / <c>frontend.workerVersioningRuleAPIs</c>
/// turn them on, and then UNIMPLEMENTED here, since Bastion routes by worker deployments only. The SDKs treat both
/// codes as "this server has no such versioning".
/// </summary>
internal sealed partial class WorkflowServiceHandler
{
    private const string DeploymentsRetired = "Deployments are deprecated and no longer supported, use Worker Deployments instead";

    public Task<DescribeDeploymentResponse> DescribeDeployment(DescribeDeploymentRequest request, ServerCallContext context) =>
        throw ServiceException.Unimplemented(DeploymentsRetired);

    public Task<ListDeploymentsResponse> ListDeployments(ListDeploymentsRequest request, ServerCallContext context) =>
        throw ServiceException.Unimplemented(DeploymentsRetired);

    public Task<GetCurrentDeploymentResponse> GetCurrentDeployment(GetCurrentDeploymentRequest request, ServerCallContext context) =>
        throw ServiceException.Unimplemented(DeploymentsRetired);

    public Task<SetCurrentDeploymentResponse> SetCurrentDeployment(SetCurrentDeploymentRequest request, ServerCallContext context) =>
        throw ServiceException.Unimplemented(DeploymentsRetired);

    public Task<GetDeploymentReachabilityResponse> GetDeploymentReachability(GetDeploymentReachabilityRequest request, ServerCallContext context) =>
        throw ServiceException.Unimplemented(DeploymentsRetired);

    public Task<UpdateWorkerBuildIdCompatibilityResponse> UpdateWorkerBuildIdCompatibility(UpdateWorkerBuildIdCompatibilityRequest request, ServerCallContext context) =>
        throw VersionSets();

    public Task<GetWorkerBuildIdCompatibilityResponse> GetWorkerBuildIdCompatibility(GetWorkerBuildIdCompatibilityRequest request, ServerCallContext context) =>
        throw VersionSets();

    public Task<UpdateWorkerVersioningRulesResponse> UpdateWorkerVersioningRules(UpdateWorkerVersioningRulesRequest request, ServerCallContext context) =>
        throw VersioningRules(options.WorkerVersioningRuleApis);

    public Task<GetWorkerVersioningRulesResponse> GetWorkerVersioningRules(GetWorkerVersioningRulesRequest request, ServerCallContext context) =>
        throw VersioningRules(options.WorkerVersioningRuleApis);

    /// <summary>Temporal gates this one by the data-APIs key but refuses it with the rules text.</summary>
    public Task<GetWorkerTaskReachabilityResponse> GetWorkerTaskReachability(GetWorkerTaskReachabilityRequest request, ServerCallContext context) =>
        throw VersioningRules(options.WorkerVersioningDataApis);

    private ServiceException VersionSets() => options.WorkerVersioningDataApis
        ? ServiceException.Unimplemented("Worker versioning v0.1 (Version Set-based, deprecated) is not supported by this server; use Worker Deployments.")
        : new ServiceException(ErrorKind.PermissionDenied, "Worker versioning v0.1 (Version Set-based, deprecated) is disabled on this namespace.");

    private static ServiceException VersioningRules(bool enabled) => enabled
        ? ServiceException.Unimplemented("Worker versioning v0.2 (Rules-based, deprecated) is not supported by this server; use Worker Deployments.")
        : new ServiceException(ErrorKind.PermissionDenied, "Worker versioning v0.2 (Rules-based, deprecated) is disabled on this namespace.");
}
