using Bastion.Engine.Namespaces;
using Bastion.Engine.Tasks;
using Bastion.Security.Identity;
using Bastion.Security.Tls;
using Microsoft.Extensions.Logging;

namespace Bastion.Server;

/// <summary>
/// Picks up namespaces created or changed by another process on the same database (the <c>bastion namespace</c>
/// commands write the store directly) and identities (<c>bastion operator</c> grants and revocations) by re-reading
/// them (and Nexus endpoints changed on another node) at an interval, and logs CAs that expire within 15 days:
/// at start and whenever a namespace changes.
/// </summary>
internal sealed partial class NamespaceRefresher : IDisposable
{
    private readonly NamespaceRegistry _namespaces;
    private readonly IdentityRegistry _identities;
    private readonly Engine.Nexus.NexusEndpointRegistry? _endpoints;
    private readonly Engine.Deployments.WorkerDeploymentRegistry? _deployments;
    private readonly Engine.Matching.TaskQueueConfigRegistry? _queueConfigs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly SemaphoreSlim _reading = new(1, 1); // one re-read at a time: an older read must not land after a newer one

    public NamespaceRefresher(NamespaceRegistry namespaces, IdentityRegistry identities, TimeProvider time, TimeSpan interval, ILogger logger, Engine.Nexus.NexusEndpointRegistry? endpoints = null, Engine.Deployments.WorkerDeploymentRegistry? deployments = null, Engine.Matching.TaskQueueConfigRegistry? queueConfigs = null)
    {
        _deployments = deployments;
        _queueConfigs = queueConfigs;
        _namespaces = namespaces;
        _identities = identities;
        _endpoints = endpoints;
        _time = time;
        _logger = logger;
        foreach (var entry in namespaces.All)
        {
            WarnExpiring(entry);
        }

        _timer = LongTimer.Create(time, _ => _ = RefreshAsync(), null, interval, interval);
    }

    /// <summary>Runs after each re-read (the web UI's sessions are swept: those timed out, or whose key, user or SSO is gone, end).</summary>
    public Action? AfterRefresh { get; set; }

    /// <summary>
    /// Reads everything again; one read at a time, so a call's read starts after the call did (another node's change is
    /// in it). False when the read failed (logged; the next one tries again).
    /// </summary>
    public async Task<bool> RefreshAsync()
    {
        await _reading.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var entry in await _namespaces.RefreshAsync(CancellationToken.None).ConfigureAwait(false))
            {
                LogChanged(_logger, entry.FullName);
                WarnExpiring(entry);
            }

            await _identities.RefreshAsync(CancellationToken.None).ConfigureAwait(false);
            if (_endpoints is not null)
            {
                await _endpoints.RefreshAsync(CancellationToken.None).ConfigureAwait(false); // changed on another node of a cluster
            }

            if (_deployments is not null)
            {
                await _deployments.RefreshAsync(CancellationToken.None).ConfigureAwait(false); // routing set on another node of a cluster
            }

            if (_queueConfigs is not null)
            {
                await _queueConfigs.RefreshAsync(CancellationToken.None).ConfigureAwait(false); // rate limits set on another node of a cluster
            }

            AfterRefresh?.Invoke();
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogRefreshFailed(_logger, e);
            return false;
        }
        finally
        {
            _reading.Release();
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        _reading.Dispose();
    }

    private void WarnExpiring(NamespaceEntry entry)
    {
        foreach (var ca in NamespaceTlsPolicies.ExpiringCas(entry, _time.GetUtcNow().UtcDateTime))
        {
            LogExpiring(_logger, entry.FullName, ca);
        }
    }

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Namespace {Namespace} was created or changed in the store; now in effect.")]
    private static partial void LogChanged(ILogger logger, string @namespace);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Namespace {Namespace}: client CA {Ca} (renew it and add the new CA to the bundle).")]
    private static partial void LogExpiring(ILogger logger, string @namespace, string ca);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Error, Message = "Reading namespaces or identities from the store failed.")]
    private static partial void LogRefreshFailed(ILogger logger, Exception e);
}
