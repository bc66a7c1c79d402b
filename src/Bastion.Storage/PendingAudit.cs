namespace Bastion.Storage;

/// <summary>
/// An audit record waiting for its place in the hash chain. The group committer gives it its sequence number and its
/// predecessor's hash in commit order (<see cref="Seal"/>) and writes it in the same transaction as the state it
/// covers, when there is any: a call that commits a transition has its record ride that commit (see
/// <see cref="Ambient"/>), so the call waits for one fsync, not two.
/// </summary>
public abstract class PendingAudit
{
    private static readonly AsyncLocal<PendingAudit?> s_ambient = new();

    private readonly Lock _lock = new();
    private State _state;
    private bool _inDoubt; // sent to another node, which gave no answer: it may have written it
    private TaskCompletionSource? _ride; // while riding: completes when that commit ends

    private enum State
    {
        Open,
        Riding,
        Written,
        Closed,
    }

    /// <summary>
    /// The record of the call in progress on this flow, if the audit log lets records ride transitions. The first
    /// transition the call commits carries it; set by the security pipeline around the handler.
    /// </summary>
    public static PendingAudit? Ambient
    {
        get => s_ambient.Value;
        set => s_ambient.Value = value;
    }

    /// <summary>The record at <paramref name="sequence"/> of <paramref name="chain"/>, after <paramref name="previousHash"/>: its canonical bytes and their hash.</summary>
    public abstract StoredAuditRecord Seal(string chain, long sequence, byte[] previousHash);

    /// <summary>
    /// The record was sent with the call to another node, and no answer came (the node died, or the connection broke):
    /// that node may have written it with a transition. It then rides nothing more; whoever would write it on its own
    /// looks for it in the log first.
    /// </summary>
    public bool InDoubt
    {
        get
        {
            lock (_lock)
            {
                return _inDoubt;
            }
        }
    }

    /// <summary>Claims the record for a transition's commit; false if it was written, is riding another, is in doubt, or is closed.</summary>
    internal bool TryRide()
    {
        lock (_lock)
        {
            if (_state != State.Open || _inDoubt)
            {
                return false;
            }

            _state = State.Riding;
            _ride = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return true;
        }
    }

    /// <summary>
    /// Claims the record for a commit on another cluster node: the call was sent on to the node that owns what it
    /// addresses, with its record, to ride the transition it commits there. False as <see cref="TryRide"/>.
    /// </summary>
    public bool TryRideElsewhere() => TryRide();

    /// <summary>
    /// That node's answer: it wrote the record with its transition, or it did not (the record is free again); null when
    /// no answer came (<see cref="InDoubt"/>).
    /// </summary>
    public void RodeElsewhere(bool? written)
    {
        if (written is null)
        {
            lock (_lock)
            {
                _inDoubt = true;
            }
        }

        Landed(written ?? false);
    }

    /// <summary>The commit it rode ended: written with it, or free again (the transition was rejected or the transaction failed).</summary>
    internal void Landed(bool written)
    {
        TaskCompletionSource? ride;
        lock (_lock)
        {
            _state = written ? State.Written : State.Open;
            ride = _ride;
            _ride = null;
        }

        ride?.TrySetResult();
    }

    /// <summary>
    /// Ends riding: true if a transition wrote the record; false if none did, and then none will (the caller writes it
    /// itself). Waits for a commit the record is riding at that moment.
    /// </summary>
    public async ValueTask<bool> CloseAsync()
    {
        while (true)
        {
            Task ride;
            lock (_lock)
            {
                switch (_state)
                {
                    case State.Written:
                        return true;
                    case State.Riding:
                        ride = _ride!.Task;
                        break;
                    default:
                        _state = State.Closed;
                        return false;
                }
            }

            await ride.ConfigureAwait(false);
        }
    }
}
