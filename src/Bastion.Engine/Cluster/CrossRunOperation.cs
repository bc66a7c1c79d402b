using Bastion.Engine.History;
using Bastion.Storage;

namespace Bastion.Engine.Cluster;

/// <summary>
/// The steps of work between runs that act on a run of another shard — create a child run, tell a parent its child
/// closed, apply a parent close policy to a child, deliver a signal or cancel request, complete a caller's Nexus
/// operation — as messages, so the engine runs
/// each on the node that owns the target's shard: here, or on another node of the cluster through
/// <see cref="IClusterTransport.RunOperationAsync"/>. Every step goes through its encoding, local or not (one path).
/// Failures come back as <see cref="Errors.ServiceException"/>s of the same kind.
/// </summary>
internal abstract record CrossRunOperation
{
    /// <summary>
    /// The form of these messages; unchanged since clusters began (<see cref="ClusterProtocol"/> 3). A change writes its
    /// new form only to nodes whose protocol reads it, as the other cluster messages do.
    /// </summary>
    public const byte FormatVersion = 1;

    public abstract byte Kind { get; }

    protected abstract void WriteBody(BinaryWriter w);

    public byte[] Encode() => ClusterBinary.Write(FormatVersion, w =>
    {
        w.Write(Kind);
        WriteBody(w);
    });

    public static CrossRunOperation Decode(byte[] data) => ClusterBinary.Read<CrossRunOperation>(data, FormatVersion, FormatVersion, "cross-run operation", (r, _) => r.ReadByte() switch
    {
        CreateChildRun.Code => new CreateChildRun(r.ReadKey(), r.ReadInt64(), r.ReadBytes(), r.ReadOptionalBytes(), r.ReadString(), r.ReadString(), r.ReadString()),
        RecordChildClosed.Code => new RecordChildClosed(r.ReadKey(), r.ReadInt64(), r.ReadBytes(), r.ReadString(), r.ReadString(), r.ReadString(), new TaskKey(r.ReadString(), r.ReadInt32(), r.ReadInt64(), r.ReadInt32())),
        ApplyParentClosePolicy.Code => new ApplyParentClosePolicy(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32()),
        DeliverExternal.Code => new DeliverExternal(r.ReadString(), r.ReadString(), r.ReadOptionalString(), r.ReadBoolean(), r.ReadBytes()),
        StartRun.Code => new StartRun(r.ReadString(), r.ReadBytes()),
        ObserveRun.Code => new ObserveRun(r.ReadString(), r.ReadString()),
        EndRun.Code => new EndRun(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadBoolean(), r.ReadString(), r.ReadString()),
        WakeSchedule.Code => new WakeSchedule(r.ReadString(), r.ReadString()),
        CompleteNexusOperation.Code => new CompleteNexusOperation(r.ReadString(), r.ReadString(), ReadList(r), r.ReadOptionalBytes(), r.ReadOptionalBytes(), r.ReadBoolean()),
        var kind => throw new InvalidDataException($"Unknown cross-run operation {kind}."),
    });

    private static byte[][] ReadList(BinaryReader r)
    {
        var count = r.ReadInt32();
        if (count < 0 || count > r.BaseStream.Length - r.BaseStream.Position)
        {
            throw new InvalidDataException("A cross-run operation with a bad list count.");
        }

        var items = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            items[i] = r.ReadBytes();
        }

        return items;
    }

    /// <summary>Create (or find) the child run a parent's StartChild task asks for; answers the child's run id.</summary>
    public sealed record CreateChildRun(WorkflowKey Parent, long InitiatedEventId, byte[] Attributes, byte[]? Metadata, string RequestId, string RootWorkflowId, string RootRunId) : CrossRunOperation
    {
        public const byte Code = 1;

        public override byte Kind => Code;

        protected override void WriteBody(BinaryWriter w)
        {
            w.Write(Parent);
            w.Write(InitiatedEventId);
            w.WriteBytes(Attributes);
            w.WriteOptional(Metadata);
            w.Write(RequestId);
            w.Write(RootWorkflowId);
            w.Write(RootRunId);
        }
    }

    /// <summary>Write a closed child's outcome into its parent (following the parent's resets), deleting the child's task row with it.</summary>
    public sealed record RecordChildClosed(WorkflowKey Parent, long InitiatedEventId, byte[] CloseEvent, string FirstRunId, string ChildWorkflowId, string ChildRunId, TaskKey Row) : CrossRunOperation
    {
        public const byte Code = 2;

        public override byte Kind => Code;

        protected override void WriteBody(BinaryWriter w)
        {
            w.Write(Parent);
            w.Write(InitiatedEventId);
            w.WriteBytes(CloseEvent);
            w.Write(FirstRunId);
            w.Write(ChildWorkflowId);
            w.Write(ChildRunId);
            w.Write(Row.RunId);
            w.Write(Row.Kind);
            w.Write(Row.EventId);
            w.Write(Row.Attempt);
        }
    }

    /// <summary>Terminate or cancel a closed parent's child, if its current run is still of the chain the parent started.</summary>
    public sealed record ApplyParentClosePolicy(string NamespaceId, string ChildWorkflowId, string FirstRunId, int Policy) : CrossRunOperation
    {
        public const byte Code = 3;

        public override byte Kind => Code;

        protected override void WriteBody(BinaryWriter w)
        {
            w.Write(NamespaceId);
            w.Write(ChildWorkflowId);
            w.Write(FirstRunId);
            w.Write(Policy);
        }
    }

    /// <summary>Deliver a workflow's signal (a SignalWorkflowExecutionRequest) or cancel request (a RequestCancelWorkflowExecutionRequest) to its target.</summary>
    public sealed record DeliverExternal(string NamespaceId, string WorkflowId, string? RunId, bool IsSignal, byte[] Request) : CrossRunOperation
    {
        public const byte Code = 4;

        public override byte Kind => Code;

        protected override void WriteBody(BinaryWriter w)
        {
            w.Write(NamespaceId);
            w.Write(WorkflowId);
            w.WriteOptional(RunId);
            w.Write(IsSignal);
            w.WriteBytes(Request);
        }
    }

    /// <summary>Start a schedule's action's run (a StartWorkflowExecutionRequest whose request id makes a retry find it); answers the start response.</summary>
    public sealed record StartRun(string NamespaceId, byte[] Request) : CrossRunOperation
    {
        public const byte Code = 5;

        public override byte Kind => Code;

        protected override void WriteBody(BinaryWriter w)
        {
            w.Write(NamespaceId);
            w.WriteBytes(Request);
        }
    }

    /// <summary>The status of a workflow id's current run, with its close event when it completed or failed (a schedule watching its runs).</summary>
    public sealed record ObserveRun(string NamespaceId, string WorkflowId) : CrossRunOperation
    {
        public const byte Code = 6;

        public override byte Kind => Code;

        protected override void WriteBody(BinaryWriter w)
        {
            w.Write(NamespaceId);
            w.Write(WorkflowId);
        }
    }

    /// <summary>Terminate a run, or ask it to cancel (a schedule's overlap policy).</summary>
    public sealed record EndRun(string NamespaceId, string WorkflowId, string RunId, bool Terminate, string Reason, string RequestId) : CrossRunOperation
    {
        public const byte Code = 7;

        public override byte Kind => Code;

        protected override void WriteBody(BinaryWriter w)
        {
            w.Write(NamespaceId);
            w.Write(WorkflowId);
            w.Write(RunId);
            w.Write(Terminate);
            w.Write(Reason);
            w.Write(RequestId);
        }
    }

    /// <summary>A run a schedule started closed: its schedule looks at once (on the node that runs the schedule).</summary>
    public sealed record WakeSchedule(string NamespaceId, string ScheduleId) : CrossRunOperation
    {
        public const byte Code = 8;

        public override byte Kind => Code;

        protected override void WriteBody(BinaryWriter w)
        {
            w.Write(NamespaceId);
            w.Write(ScheduleId);
        }
    }

    /// <summary>
    /// A handler-side run (workflow, standalone activity, or an update) ended an async Nexus operation: its outcome
    /// into the caller's run, whose <see cref="Nexus.NexusCallbackToken"/> (encoded) <paramref name="CallbackToken"/> is;
    /// with the operation token and the Started event's links (each a <c>nexus.v1.Link</c>) should the completion come
    /// before the start's answer. <paramref name="Result"/> a <c>Payload</c>, <paramref name="Failure"/> a <c>Failure</c>.
    /// </summary>
    public sealed record CompleteNexusOperation(string CallbackToken, string OperationToken, byte[][] StartedLinks, byte[]? Result, byte[]? Failure, bool Canceled) : CrossRunOperation
    {
        public const byte Code = 9;

        public override byte Kind => Code;

        protected override void WriteBody(BinaryWriter w)
        {
            w.Write(CallbackToken);
            w.Write(OperationToken);
            w.Write(StartedLinks.Length);
            foreach (var link in StartedLinks)
            {
                w.WriteBytes(link);
            }

            w.WriteOptional(Result);
            w.WriteOptional(Failure);
            w.Write(Canceled);
        }
    }
}
