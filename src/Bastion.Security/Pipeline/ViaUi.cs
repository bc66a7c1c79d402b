using Bastion.Security.Sessions;

namespace Bastion.Security.Pipeline;

/// <summary>
/// A request feature the web UI's host sets on each API request it passes on (only that host does, on its own
/// listener): the call's audit record says <c>"via": "ui"</c>, and under <c>server start</c> it carries the signed-in
/// session whose principal the call runs as (<see cref="UiSessionAuthenticator"/>), once the host has checked it (a
/// write's CSRF token).
/// </summary>
public sealed class ViaUi(UiSession? session)
{
    public const string Name = "ui";

    /// <summary>The signed-in session; null in start-dev (no sign-in) and on a request refused before one was found.</summary>
    public UiSession? Session => session;
}
