using Bastion.Engine.Errors;

namespace Bastion.Engine.History;

/// <summary>
/// A deleted namespace's runs are purged from the store in the background (<see cref="Namespaces.NamespacePurger"/>):
/// what this node holds of them goes at once — cached runs and current-run ids, timers — and no transition of them is
/// committed again, so nothing cached puts back a row the purge removed.
/// </summary>
internal sealed partial class HistoryEngine
{
    /// <summary>Drops everything held in memory for the namespace's runs (the registry tells of a deletion).</summary>
    private void ForgetNamespace(string namespaceId)
    {
        foreach (var (key, context) in _runs)
        {
            if (key.Ns == namespaceId)
            {
                _runs.TryRemove(key, out _);
                context.NotifyChanged();
            }
        }

        foreach (var key in _currentRuns.Keys)
        {
            if (key.Ns == namespaceId)
            {
                _currentRuns.TryRemove(key, out _);
            }
        }

        _timers?.DropNamespace(namespaceId);
    }

    /// <summary>NOT_FOUND for a transition of a deleted namespace's run (a timer or call that reached a copy before it was dropped).</summary>
    private void EnsureNamespaceNotDeleted(string namespaceId)
    {
        if (_namespaces.IsDeleted(namespaceId))
        {
            throw new ServiceException(ErrorKind.NotFound, $"Namespace {namespaceId} was deleted.");
        }
    }
}
