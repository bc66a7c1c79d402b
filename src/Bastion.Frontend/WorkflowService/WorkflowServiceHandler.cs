using Bastion.Engine.Batch;
using Bastion.Engine.History;
using Bastion.Engine.Namespaces;
using Bastion.Engine.Visibility;
using Bastion.Security.Pipeline;
using Grpc.Core;

namespace Bastion.Frontend.WorkflowService;

/// <summary>
/// WorkflowService handlers: validate the request, map it to engine calls, shape the response. Methods are bound
/// by name from the service descriptor; one without a handler here answers UNIMPLEMENTED. Every call has passed
/// the security pipeline, which resolved the namespace.
/// </summary>
internal sealed partial class WorkflowServiceHandler(
    HistoryEngine engine,
    Engine.Schedules.ScheduleEngine schedules,
    VisibilityReader visibility,
    BatchOperations batches,
    NamespaceRegistry namespaces,
    Engine.Matching.NexusTaskDispatcher nexusTasks,
    Engine.Matching.TaskQueueConfigRegistry queueConfigs,
    FrontendOptions options,
    Draining draining,
    TimeProvider time)
{
    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private static NamespaceEntry NamespaceOf(ServerCallContext context) => CallContext.Of(context).RequiredNamespace;
}
