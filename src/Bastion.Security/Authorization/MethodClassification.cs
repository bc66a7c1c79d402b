using System.Collections.Frozen;

namespace Bastion.Security.Authorization;

/// <summary>
/// Every RPC of every bound service and the permission it needs: the pipeline's authorization table.
/// A method missing here is denied; a test walks the service descriptors to prove none is missing.
/// </summary>
public static class MethodClassification
{
    private static readonly FrozenDictionary<string, Permission> s_table = new Dictionary<string, Permission>(StringComparer.Ordinal)
    {
        // WorkflowService: Public
        ["WorkflowService/GetClusterInfo"] = Permission.Public,
        ["WorkflowService/GetSystemInfo"] = Permission.Public,
        ["WorkflowService/ListNamespaces"] = Permission.Public, // any identity: the handler lists only what it may read
        // WorkflowService: AccountRead
        ["WorkflowService/GetSearchAttributes"] = Permission.AccountRead, // cluster-wide, no namespace field
        // WorkflowService: AccountAdmin
        ["WorkflowService/RegisterNamespace"] = Permission.AccountAdmin,
        // WorkflowService: NamespaceAdmin
        ["WorkflowService/CreateWorkflowRule"] = Permission.NamespaceAdmin,
        ["WorkflowService/DeleteWorkflowRule"] = Permission.NamespaceAdmin,
        ["WorkflowService/DeprecateNamespace"] = Permission.NamespaceAdmin,
        ["WorkflowService/UpdateNamespace"] = Permission.NamespaceAdmin,
        ["WorkflowService/UpdateTaskQueueConfig"] = Permission.NamespaceAdmin,
        // WorkflowService: NamespaceRead
        ["WorkflowService/CountActivityExecutions"] = Permission.NamespaceRead,
        ["WorkflowService/CountNexusOperationExecutions"] = Permission.NamespaceRead,
        ["WorkflowService/CountSchedules"] = Permission.NamespaceRead,
        ["WorkflowService/CountWorkers"] = Permission.NamespaceRead,
        ["WorkflowService/CountWorkflowExecutions"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeActivityExecution"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeBatchOperation"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeDeployment"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeNamespace"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeNexusOperationExecution"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeSchedule"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeTaskQueue"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeWorker"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeWorkerDeployment"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeWorkerDeploymentVersion"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeWorkflowExecution"] = Permission.NamespaceRead,
        ["WorkflowService/DescribeWorkflowRule"] = Permission.NamespaceRead,
        ["WorkflowService/FetchWorkerConfig"] = Permission.NamespaceRead,
        ["WorkflowService/GetCurrentDeployment"] = Permission.NamespaceRead,
        ["WorkflowService/GetDeploymentReachability"] = Permission.NamespaceRead,
        ["WorkflowService/GetWorkerBuildIdCompatibility"] = Permission.NamespaceRead,
        ["WorkflowService/GetWorkerTaskReachability"] = Permission.NamespaceRead,
        ["WorkflowService/GetWorkerVersioningRules"] = Permission.NamespaceRead,
        ["WorkflowService/GetWorkflowExecutionHistory"] = Permission.NamespaceRead,
        ["WorkflowService/GetWorkflowExecutionHistoryReverse"] = Permission.NamespaceRead,
        ["WorkflowService/ListActivityExecutions"] = Permission.NamespaceRead,
        ["WorkflowService/ListArchivedWorkflowExecutions"] = Permission.NamespaceRead,
        ["WorkflowService/ListBatchOperations"] = Permission.NamespaceRead,
        ["WorkflowService/ListClosedWorkflowExecutions"] = Permission.NamespaceRead,
        ["WorkflowService/ListDeployments"] = Permission.NamespaceRead,
        ["WorkflowService/ListNexusOperationExecutions"] = Permission.NamespaceRead,
        ["WorkflowService/ListOpenWorkflowExecutions"] = Permission.NamespaceRead,
        ["WorkflowService/ListScheduleMatchingTimes"] = Permission.NamespaceRead,
        ["WorkflowService/ListSchedules"] = Permission.NamespaceRead,
        ["WorkflowService/ListTaskQueuePartitions"] = Permission.NamespaceRead,
        ["WorkflowService/ListWorkerDeployments"] = Permission.NamespaceRead,
        ["WorkflowService/ListWorkers"] = Permission.NamespaceRead,
        ["WorkflowService/ListWorkflowExecutions"] = Permission.NamespaceRead,
        ["WorkflowService/ListWorkflowRules"] = Permission.NamespaceRead,
        ["WorkflowService/PollActivityExecution"] = Permission.NamespaceRead,
        ["WorkflowService/PollNexusOperationExecution"] = Permission.NamespaceRead,
        ["WorkflowService/PollWorkflowExecutionUpdate"] = Permission.NamespaceRead,
        ["WorkflowService/QueryWorkflow"] = Permission.NamespaceRead,
        ["WorkflowService/ScanWorkflowExecutions"] = Permission.NamespaceRead,
        // WorkflowService: NamespaceWrite
        ["WorkflowService/CreateSchedule"] = Permission.NamespaceWrite,
        ["WorkflowService/CreateWorkerDeployment"] = Permission.NamespaceWrite,
        ["WorkflowService/CreateWorkerDeploymentVersion"] = Permission.NamespaceWrite,
        ["WorkflowService/DeleteActivityExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/DeleteNexusOperationExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/DeleteSchedule"] = Permission.NamespaceWrite,
        ["WorkflowService/DeleteWorkerDeployment"] = Permission.NamespaceWrite,
        ["WorkflowService/DeleteWorkerDeploymentVersion"] = Permission.NamespaceWrite,
        ["WorkflowService/DeleteWorkflowExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/ExecuteMultiOperation"] = Permission.NamespaceWrite,
        ["WorkflowService/PatchSchedule"] = Permission.NamespaceWrite,
        ["WorkflowService/PauseActivity"] = Permission.NamespaceWrite,
        ["WorkflowService/PauseActivityExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/PauseWorkflowExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/PollActivityTaskQueue"] = Permission.NamespaceWrite,
        ["WorkflowService/PollNexusTaskQueue"] = Permission.NamespaceWrite,
        ["WorkflowService/PollWorkflowExecutionTimeSkipping"] = Permission.NamespaceWrite,
        ["WorkflowService/PollWorkflowTaskQueue"] = Permission.NamespaceWrite,
        ["WorkflowService/RecordActivityTaskHeartbeat"] = Permission.NamespaceWrite,
        ["WorkflowService/RecordActivityTaskHeartbeatById"] = Permission.NamespaceWrite,
        ["WorkflowService/RecordWorkerHeartbeat"] = Permission.NamespaceWrite,
        ["WorkflowService/RequestCancelActivityExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/RequestCancelNexusOperationExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/RequestCancelWorkflowExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/ResetActivity"] = Permission.NamespaceWrite,
        ["WorkflowService/ResetActivityExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/ResetStickyTaskQueue"] = Permission.NamespaceWrite,
        ["WorkflowService/ResetWorkflowExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondActivityTaskCanceled"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondActivityTaskCanceledById"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondActivityTaskCompleted"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondActivityTaskCompletedById"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondActivityTaskFailed"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondActivityTaskFailedById"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondNexusTaskCompleted"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondNexusTaskFailed"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondQueryTaskCompleted"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondWorkflowTaskCompleted"] = Permission.NamespaceWrite,
        ["WorkflowService/RespondWorkflowTaskFailed"] = Permission.NamespaceWrite,
        ["WorkflowService/SetCurrentDeployment"] = Permission.NamespaceWrite,
        ["WorkflowService/SetWorkerDeploymentCurrentVersion"] = Permission.NamespaceWrite,
        ["WorkflowService/SetWorkerDeploymentManager"] = Permission.NamespaceWrite,
        ["WorkflowService/SetWorkerDeploymentRampingVersion"] = Permission.NamespaceWrite,
        ["WorkflowService/ShutdownWorker"] = Permission.NamespaceWrite,
        ["WorkflowService/SignalWithStartWorkflowExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/SignalWorkflowExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/StartActivityExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/StartBatchOperation"] = Permission.NamespaceWrite,
        ["WorkflowService/StartNexusOperationExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/StartWorkflowExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/StopBatchOperation"] = Permission.NamespaceWrite,
        ["WorkflowService/TerminateActivityExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/TerminateNexusOperationExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/TerminateWorkflowExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/TriggerWorkflowRule"] = Permission.NamespaceWrite,
        ["WorkflowService/UnpauseActivity"] = Permission.NamespaceWrite,
        ["WorkflowService/UnpauseActivityExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/UnpauseWorkflowExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/UpdateActivityExecutionOptions"] = Permission.NamespaceWrite,
        ["WorkflowService/UpdateActivityOptions"] = Permission.NamespaceWrite,
        ["WorkflowService/UpdateSchedule"] = Permission.NamespaceWrite,
        ["WorkflowService/UpdateWorkerBuildIdCompatibility"] = Permission.NamespaceWrite,
        ["WorkflowService/UpdateWorkerConfig"] = Permission.NamespaceWrite,
        ["WorkflowService/UpdateWorkerDeploymentVersionComputeConfig"] = Permission.NamespaceWrite,
        ["WorkflowService/UpdateWorkerDeploymentVersionMetadata"] = Permission.NamespaceWrite,
        ["WorkflowService/UpdateWorkerVersioningRules"] = Permission.NamespaceWrite,
        ["WorkflowService/UpdateWorkflowExecution"] = Permission.NamespaceWrite,
        ["WorkflowService/UpdateWorkflowExecutionOptions"] = Permission.NamespaceWrite,
        ["WorkflowService/ValidateWorkerDeploymentVersionComputeConfig"] = Permission.NamespaceWrite,
        // OperatorService: NamespaceAdmin
        ["OperatorService/AddSearchAttributes"] = Permission.NamespaceAdmin,
        ["OperatorService/RemoveSearchAttributes"] = Permission.NamespaceAdmin,
        // OperatorService: NamespaceRead
        ["OperatorService/ListSearchAttributes"] = Permission.NamespaceRead,
        // OperatorService: AccountAdmin
        ["OperatorService/AddOrUpdateRemoteCluster"] = Permission.AccountAdmin,
        ["OperatorService/CreateNexusEndpoint"] = Permission.AccountAdmin,
        ["OperatorService/DeleteNamespace"] = Permission.AccountAdmin,
        ["OperatorService/DeleteNexusEndpoint"] = Permission.AccountAdmin,
        ["OperatorService/RemoveRemoteCluster"] = Permission.AccountAdmin,
        ["OperatorService/UpdateNexusEndpoint"] = Permission.AccountAdmin,
        // OperatorService: AccountRead
        ["OperatorService/GetNexusEndpoint"] = Permission.AccountRead,
        ["OperatorService/ListClusters"] = Permission.AccountRead,
        ["OperatorService/ListNexusEndpoints"] = Permission.AccountRead,
        // CloudService: AccountMember
        ["CloudService/CreateApiKey"] = Permission.AccountMember,
        ["CloudService/CreateServiceAccount"] = Permission.AccountMember,
        ["CloudService/DeleteApiKey"] = Permission.AccountMember,
        ["CloudService/DeleteServiceAccount"] = Permission.AccountMember,
        ["CloudService/GetApiKey"] = Permission.AccountMember,
        ["CloudService/GetApiKeys"] = Permission.AccountMember,
        ["CloudService/GetAsyncOperation"] = Permission.AccountMember,
        ["CloudService/GetCurrentIdentity"] = Permission.AccountMember,
        ["CloudService/GetNamespaces"] = Permission.AccountMember,
        ["CloudService/UpdateApiKey"] = Permission.AccountMember,
        ["CloudService/UpdateServiceAccount"] = Permission.AccountMember,
        // CloudService: AccountRead
        ["CloudService/GetAccount"] = Permission.AccountRead,
        ["CloudService/GetConnectivityRule"] = Permission.AccountRead,
        ["CloudService/GetConnectivityRules"] = Permission.AccountRead,
        ["CloudService/GetCustomRole"] = Permission.AccountRead,
        ["CloudService/GetCustomRoles"] = Permission.AccountRead,
        ["CloudService/GetNexusEndpoint"] = Permission.AccountRead,
        ["CloudService/GetNexusEndpoints"] = Permission.AccountRead,
        ["CloudService/GetRegion"] = Permission.AccountRead,
        ["CloudService/GetRegions"] = Permission.AccountRead,
        ["CloudService/GetServiceAccount"] = Permission.AccountRead,
        ["CloudService/GetServiceAccounts"] = Permission.AccountRead,
        ["CloudService/GetUser"] = Permission.AccountRead,
        ["CloudService/GetUserGroup"] = Permission.AccountRead,
        ["CloudService/GetUserGroupMembers"] = Permission.AccountRead,
        ["CloudService/GetUserGroups"] = Permission.AccountRead,
        ["CloudService/GetUsers"] = Permission.AccountRead,
        // CloudService: AccountAdmin
        ["CloudService/AddUserGroupMember"] = Permission.AccountAdmin,
        ["CloudService/CreateAccountAuditLogSink"] = Permission.AccountAdmin,
        ["CloudService/CreateConnectivityRule"] = Permission.AccountAdmin,
        ["CloudService/CreateCustomRole"] = Permission.AccountAdmin,
        ["CloudService/CreateNexusEndpoint"] = Permission.AccountAdmin,
        ["CloudService/CreateUser"] = Permission.AccountAdmin,
        ["CloudService/CreateUserGroup"] = Permission.AccountAdmin,
        ["CloudService/DeleteAccountAuditLogSink"] = Permission.AccountAdmin,
        ["CloudService/DeleteConnectivityRule"] = Permission.AccountAdmin,
        ["CloudService/DeleteCustomRole"] = Permission.AccountAdmin,
        ["CloudService/DeleteNexusEndpoint"] = Permission.AccountAdmin,
        ["CloudService/DeleteUser"] = Permission.AccountAdmin,
        ["CloudService/DeleteUserGroup"] = Permission.AccountAdmin,
        ["CloudService/GetAccountAuditLogSink"] = Permission.AccountAdmin,
        ["CloudService/GetAccountAuditLogSinks"] = Permission.AccountAdmin,
        ["CloudService/GetAuditLogs"] = Permission.AccountAdmin,
        ["CloudService/RemoveUserGroupMember"] = Permission.AccountAdmin,
        ["CloudService/UpdateAccount"] = Permission.AccountAdmin,
        ["CloudService/UpdateAccountAuditLogSink"] = Permission.AccountAdmin,
        ["CloudService/UpdateCustomRole"] = Permission.AccountAdmin,
        ["CloudService/UpdateNexusEndpoint"] = Permission.AccountAdmin,
        ["CloudService/UpdateUser"] = Permission.AccountAdmin,
        ["CloudService/UpdateUserGroup"] = Permission.AccountAdmin,
        ["CloudService/ValidateAccountAuditLogSink"] = Permission.AccountAdmin,
        // CloudService: NamespaceCreate
        ["CloudService/CreateNamespace"] = Permission.NamespaceCreate,
        // CloudService: Billing
        ["CloudService/CreateBillingReport"] = Permission.Billing,
        ["CloudService/GetBillingReport"] = Permission.Billing,
        ["CloudService/GetUsage"] = Permission.Billing,
        // CloudService: NamespaceRead
        ["CloudService/GetNamespace"] = Permission.NamespaceRead,
        ["CloudService/GetNamespaceCapacityInfo"] = Permission.NamespaceRead,
        ["CloudService/GetNamespaceExportSink"] = Permission.NamespaceRead,
        ["CloudService/GetNamespaceExportSinks"] = Permission.NamespaceRead,
        // CloudService: NamespaceAdmin
        ["CloudService/AddNamespaceRegion"] = Permission.NamespaceAdmin,
        ["CloudService/CreateNamespaceExportSink"] = Permission.NamespaceAdmin,
        ["CloudService/DeleteNamespace"] = Permission.NamespaceAdmin,
        ["CloudService/DeleteNamespaceExportSink"] = Permission.NamespaceAdmin,
        ["CloudService/DeleteNamespaceRegion"] = Permission.NamespaceAdmin,
        ["CloudService/FailoverNamespaceRegion"] = Permission.NamespaceAdmin,
        ["CloudService/GetServiceAccountNamespaceAssignments"] = Permission.NamespaceAdmin,
        ["CloudService/GetUserGroupNamespaceAssignments"] = Permission.NamespaceAdmin,
        ["CloudService/GetUserNamespaceAssignments"] = Permission.NamespaceAdmin,
        ["CloudService/RenameCustomSearchAttribute"] = Permission.NamespaceAdmin,
        ["CloudService/SetServiceAccountNamespaceAccess"] = Permission.NamespaceAdmin,
        ["CloudService/SetUserGroupNamespaceAccess"] = Permission.NamespaceAdmin,
        ["CloudService/SetUserNamespaceAccess"] = Permission.NamespaceAdmin,
        ["CloudService/UpdateNamespace"] = Permission.NamespaceAdmin,
        ["CloudService/UpdateNamespaceExportSink"] = Permission.NamespaceAdmin,
        ["CloudService/UpdateNamespaceTags"] = Permission.NamespaceAdmin,
        ["CloudService/ValidateNamespaceExportSink"] = Permission.NamespaceAdmin,
        // SsoService (Bastion's extension of the Cloud Ops API): AccountAdmin — who may vouch for the account's people
        // is an account owner's or admin's decision, and the settings name the account's identity provider.
        ["SsoService/DisableSsoProvider"] = Permission.AccountAdmin,
        ["SsoService/GetSsoSettings"] = Permission.AccountAdmin,
        ["SsoService/SetOidcProvider"] = Permission.AccountAdmin,
        ["SsoService/SetSamlProvider"] = Permission.AccountAdmin,
        ["SsoService/UpdateSsoRules"] = Permission.AccountAdmin,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// The gRPC health service (<c>grpc.health.v1.Health</c>): answered to anyone without credentials, as Temporal's
    /// frontend does, and not audited. It reports liveness only: no identity, namespace or data is involved.
    /// </summary>
    public static bool IsHealthProbe(string fullMethod) =>
        fullMethod.StartsWith("/grpc.health.v1.Health/", StringComparison.Ordinal);

    /// <summary>
    /// The cluster's internal service (<c>bastion.cluster.v1.Cluster</c>): calls other nodes forward after their own
    /// pipeline authenticated, authorized and audited them. Not a client's call, so not this pipeline's: the service
    /// itself answers only on the cluster listener and refuses everywhere else.
    /// </summary>
    public static bool IsClusterInternal(string fullMethod) =>
        fullMethod.StartsWith("/bastion.cluster.v1.Cluster/", StringComparison.Ordinal);

    /// <summary>
    /// The Cloud Ops API (and Bastion's extension of it) is the control plane: its calls are <em>about</em> a namespace,
    /// so the namespace's own data-plane authentication (mTLS only, API keys off) does not govern them.
    /// </summary>
    public static bool IsControlPlane(string service) => service is "CloudService" or "SsoService";

    /// <summary>Every classified method, keyed <c>Service/Method</c>.</summary>
    public static IReadOnlyDictionary<string, Permission> Table => s_table;

    /// <summary>The permission a method needs, or null when it is not classified (and so denied).</summary>
    public static Permission? For(string service, string method) =>
        s_table.TryGetValue(service + "/" + method, out var permission) ? permission : null;
}
