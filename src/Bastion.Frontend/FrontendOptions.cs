namespace Bastion.Frontend;

/// <summary>Frontend settings that callers can see.</summary>
public sealed class FrontendOptions
{
    public const int DefaultMaxPayloadBytes = 2 * 1024 * 1024;

    /// <summary>Largest payload (input, result, details) a request may carry; Temporal's default blob limit.</summary>
    public int MaxPayloadBytes { get; set; } = DefaultMaxPayloadBytes;

    /// <summary>Longest a poll or a waiting history read is held before it answers empty.</summary>
    public TimeSpan MaxLongPoll { get; set; } = TimeSpan.FromSeconds(60);

    public string ServerVersion { get; set; } = "0.1.0";

    /// <summary>
    /// Eager workflow start: a start that asks for it gets the first workflow task in its response (Temporal's
    /// <c>system.enableEagerWorkflowStart</c>, on by default since Temporal 1.24). Off, the request's ask is ignored.
    /// </summary>
    public bool EnableEagerWorkflowStart { get; set; } = true;
}
