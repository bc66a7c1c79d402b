namespace Bastion.Engine.Matching;

/// <summary>
/// An item another partition of the queue could not match, held at the queue's root for the next poller there
/// (<see cref="TaskQueuePartition.HoldAsync"/>). It ends under the partition's lock, one way only: taken by a poller
/// (<see cref="Taken"/> true) or withdrawn when its hold ran out or its sender left (false; the sender keeps the item).
/// </summary>
internal sealed class HeldOffer(MatchItem item)
{
    public MatchItem Item => item;

    public TaskCompletionSource<bool> Taken { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
