namespace Bastion.Engine.Tasks;

/// <summary>
/// Starts background work (timers, loops) off the flow of the call that caused it, so that nothing of the call's
/// ambient state — above all its audit record waiting to ride a transition (<c>PendingAudit.Ambient</c>) — reaches
/// work that outlives the call.
/// </summary>
internal static class Detached
{
    public static T Start<T>(Func<T> start)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (ExecutionContext.IsFlowSuppressed())
        {
            return start();
        }

        using (ExecutionContext.SuppressFlow())
        {
            return start();
        }
    }
}
