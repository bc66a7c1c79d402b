using Bastion.Engine.Errors;
using Bastion.Engine.Workers;
using Grpc.Core;
using Temporalio.Api.Worker.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// The Workers API (issue 21): worker heartbeats into matching's <see cref="WorkerRegistry"/>, listed, counted and
/// described from it. In a cluster these calls run on the node that holds the namespace's registry (the frontend's
/// routing). FetchWorkerConfig and UpdateWorkerConfig have no handler (UNIMPLEMENTED), as Temporal's server answers
/// them: a worker's configuration would reach it by a worker command on its <c>temporal-sys/worker-commands/…</c> Nexus
/// queue, and no server sends those yet.
/// </summary>
internal sealed partial class WorkflowServiceHandler
{
    public Task<RecordWorkerHeartbeatResponse> RecordWorkerHeartbeat(RecordWorkerHeartbeatRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        for (var i = 0; i < request.WorkerHeartbeat.Count; i++)
        {
            if (string.IsNullOrEmpty(request.WorkerHeartbeat[i].WorkerInstanceKey))
            {
                throw ServiceException.InvalidArgument($"WorkerHeartbeat[{i}].WorkerInstanceKey is not set.");
            }
        }

        engine.Matching.Workers.Record(ns.Id, request.WorkerHeartbeat);
        return Task.FromResult(new RecordWorkerHeartbeatResponse());
    }

    public Task<ListWorkersResponse> ListWorkers(ListWorkersRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var workers = engine.Matching.Workers.Find(ns.Id, WorkerQuery.Parse(request.Query), request.IncludeSystemWorkers);
        var (page, next) = WorkerRegistry.Page(workers, request.PageSize, request.NextPageToken.ToByteArray());
        var response = new ListWorkersResponse { NextPageToken = Google.Protobuf.ByteString.CopyFrom(next) };
        foreach (var heartbeat in page)
        {
#pragma warning disable CS0612 // Temporal still fills the deprecated full form alongside the list form.
            response.WorkersInfo.Add(new WorkerInfo { WorkerHeartbeat = heartbeat });
#pragma warning restore CS0612
            response.Workers.Add(ListInfoOf(heartbeat));
        }

        return Task.FromResult(response);
    }

    public Task<CountWorkersResponse> CountWorkers(CountWorkersRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        return Task.FromResult(new CountWorkersResponse
        {
            Count = engine.Matching.Workers.Find(ns.Id, WorkerQuery.Parse(request.Query), request.IncludeSystemWorkers).Count,
        });
    }

    public Task<DescribeWorkerResponse> DescribeWorker(DescribeWorkerRequest request, ServerCallContext context)
    {
        var ns = NamespaceOf(context);
        var key = Validation.RequireId(request.WorkerInstanceKey, "WorkerInstanceKey");
        return Task.FromResult(new DescribeWorkerResponse { WorkerInfo = new WorkerInfo { WorkerHeartbeat = engine.Matching.Workers.Describe(ns.Id, key) } });
    }

    /// <summary>The queue whose root's owner holds a namespace's worker registry in a cluster.</summary>
    internal static Engine.Matching.QueueKey WorkerRegistryQueue(string namespaceId) =>
        new(namespaceId, WorkerRegistry.RoutingQueue, Engine.Matching.TaskCategory.Workflow);

    /// <summary>The list form of a heartbeat, as Temporal's matching makes it.</summary>
    private static WorkerListInfo ListInfoOf(WorkerHeartbeat heartbeat)
    {
        var info = new WorkerListInfo
        {
            WorkerInstanceKey = heartbeat.WorkerInstanceKey,
            WorkerIdentity = heartbeat.WorkerIdentity,
            TaskQueue = heartbeat.TaskQueue,
            DeploymentVersion = heartbeat.DeploymentVersion,
            SdkName = heartbeat.SdkName,
            SdkVersion = heartbeat.SdkVersion,
            Status = heartbeat.Status,
            StartTime = heartbeat.StartTime,
            HostName = heartbeat.HostInfo?.HostName ?? string.Empty,
            WorkerGroupingKey = heartbeat.HostInfo?.WorkerGroupingKey ?? string.Empty,
            ProcessId = heartbeat.HostInfo?.ProcessId ?? string.Empty,
        };
        info.Plugins.Add(heartbeat.Plugins);
        info.Drivers.Add(heartbeat.Drivers);
        return info;
    }
}
