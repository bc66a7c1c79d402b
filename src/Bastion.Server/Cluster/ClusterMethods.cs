using Grpc.Core;

namespace Bastion.Server.Cluster;

/// <summary>
/// The cluster's internal gRPC service (<c>bastion.cluster.v1.Cluster</c>), served only on the cluster listener: its
/// bodies are <see cref="ClusterMessages"/>, carried as bytes.
/// </summary>
internal static class ClusterMethods
{
    public const string ServiceName = "bastion.cluster.v1.Cluster";

    /// <summary>
    /// In the answer to <see cref="Forward"/> or <see cref="StartTask"/>: this node wrote the audit record the call
    /// carried, with the transition it committed (<see cref="Security.Audit.AuditHandOff"/>). Internal: the entry node
    /// removes it before an error goes on to the client.
    /// </summary>
    public const string AuditWrittenTrailer = "bastion-audit-written";

    /// <summary>
    /// In the same answers: this node did not write the record (the entry node writes it). From protocol 7; an answer
    /// with neither trailer came from no node that ran the call to its end, and leaves the record in doubt
    /// (<see cref="Storage.PendingAudit.InDoubt"/>). Internal, as <see cref="AuditWrittenTrailer"/>.
    /// </summary>
    public const string AuditNotWrittenTrailer = "bastion-audit-not-written";

    private static readonly Marshaller<byte[]> s_bytes = Marshallers.Create(static b => b, static b => b);

    /// <summary>A client's call, authenticated, authorized and audited by the node it reached, run by the owner of what it addresses.</summary>
    public static Method<byte[], byte[]> Forward { get; } = new(MethodType.Unary, ServiceName, "Forward", s_bytes, s_bytes);

    /// <summary>A task handed to the owner of its queue.</summary>
    public static Method<byte[], byte[]> AddTask { get; } = new(MethodType.Unary, ServiceName, "AddTask", s_bytes, s_bytes);

    /// <summary>A task a partition could not match, offered to the pollers waiting at its queue's root (never kept there).</summary>
    public static Method<byte[], byte[]> OfferTask { get; } = new(MethodType.Unary, ServiceName, "OfferTask", s_bytes, s_bytes);

    /// <summary>A poll a partition sent on to wait at its queue's root, on the root's node.</summary>
    public static Method<byte[], byte[]> PollRoot { get; } = new(MethodType.Unary, ServiceName, "PollRoot", s_bytes, s_bytes);

    /// <summary>The recent pollers of a queue's partitions held by a node (DescribeTaskQueue).</summary>
    public static Method<byte[], byte[]> RecentPollers { get; } = new(MethodType.Unary, ServiceName, "RecentPollers", s_bytes, s_bytes);

    /// <summary>A step of work between runs (<see cref="Engine.Cluster.CrossRunOperation"/>), run by the owner of its target's shard.</summary>
    public static Method<byte[], byte[]> RunOperation { get; } = new(MethodType.Unary, ServiceName, "RunOperation", s_bytes, s_bytes);

    /// <summary>A Nexus request for a task queue's pollers, matched on the queue's Nexus node, which answers with the worker's answer.</summary>
    public static Method<byte[], byte[]> DispatchNexusTask { get; } = new(MethodType.Unary, ServiceName, "DispatchNexusTask", s_bytes, s_bytes);

    /// <summary>Read the cluster's settings again from the database: another node just changed them (protocol 8).</summary>
    public static Method<byte[], byte[]> Refresh { get; } = new(MethodType.Unary, ServiceName, "Refresh", s_bytes, s_bytes);

    /// <summary>A task a poll took, started by the owner of its run.</summary>
    public static Method<byte[], byte[]> StartTask { get; } = new(MethodType.Unary, ServiceName, "StartTask", s_bytes, s_bytes);
}
