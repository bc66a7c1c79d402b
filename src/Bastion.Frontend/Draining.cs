using Bastion.Engine.Errors;

namespace Bastion.Frontend;

/// <summary>
/// The server is stopping (SIGTERM, or a test's dispose): long polls waiting for a task end now, answered empty, history
/// long polls as if their time ran out (an empty page and a token to poll again with), and new ones are refused with
/// UNAVAILABLE, which the SDKs retry (towards the next server, in a cluster or after a restart)
/// — so the listeners can close without cutting off a poll that was about to take a task. Begun once, never undone.
/// </summary>
public sealed class Draining : IDisposable
{
    private readonly CancellationTokenSource _begun = new();

    /// <summary>Cancelled when draining begins.</summary>
    public CancellationToken Token => _begun.Token;

    public bool IsDraining => _begun.IsCancellationRequested;

    public void Begin()
    {
        try
        {
            _begun.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed with the server: nothing left to drain.
        }
    }

    /// <summary>A new long poll while draining: UNAVAILABLE, so the worker polls again elsewhere or later.</summary>
    public void RefuseNewPoll()
    {
        if (IsDraining)
        {
            throw new ServiceException(ErrorKind.Unavailable, "The server is shutting down; poll again.");
        }
    }

    public void Dispose() => _begun.Dispose();
}
