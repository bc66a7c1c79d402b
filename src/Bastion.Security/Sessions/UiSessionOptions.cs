namespace Bastion.Security.Sessions;

/// <summary>How long a web UI session lasts.</summary>
public sealed class UiSessionOptions
{
    /// <summary>A session ends this long after sign-in, however active (8 hours, as Temporal Cloud's sessions).</summary>
    public TimeSpan AbsoluteTimeout { get; set; } = TimeSpan.FromHours(8);

    /// <summary>A session ends when no request used it for this long.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Refuses timeouts that are not positive, or an idle timeout longer than the absolute one.</summary>
    public void Validate()
    {
        if (AbsoluteTimeout <= TimeSpan.Zero || IdleTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("The web UI's session timeouts must be positive.");
        }

        if (IdleTimeout > AbsoluteTimeout)
        {
            throw new ArgumentException($"The web UI's session idle timeout ({IdleTimeout}) is longer than its absolute timeout ({AbsoluteTimeout}).");
        }
    }
}
