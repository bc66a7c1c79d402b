namespace Bastion.Storage;

/// <summary>
/// The audit log is several hash chains, each with its own head and retention anchor, so writers of different shards
/// (and, with several servers, different nodes) never wait on one global head: a call's record that rides a transition
/// of shard n goes to <see cref="Shard"/>(n), written only by the shard's owner under its fence; every other record a
/// process writes (reads, refused calls, account events) to its <see cref="Node"/> chain. Databases from before chains
/// keep their records in <see cref="Legacy"/>, closed for appends.
/// </summary>
public static class AuditChains
{
    public const string Legacy = "legacy";

    public static string Shard(int shardId) => $"shard/{shardId.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The chain of a process's records that ride no shard's transition. Several writers of one name stay correct (each appends after the head it finds), only slower.</summary>
    public static string Node(string name) => $"node/{name}";

    /// <summary>The node chain of the server on this machine: stable across restarts, so restarts do not multiply chains.</summary>
    public static string ThisMachine { get; } = Node(Environment.MachineName.ToLowerInvariant());

    /// <summary>The node chain of the command-line tools.</summary>
    public static string Cli { get; } = Node("cli");
}
