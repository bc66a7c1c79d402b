using Bastion.Engine.Namespaces;
using Bastion.Security.Pipeline;

namespace Bastion.Security.RateLimits;

/// <summary>
/// A namespace's rate limits. On-demand (no provisioned capacity): the server's defaults. Provisioned: Temporal
/// Cloud's Temporal Resource Units, where in Bastion one unit is <see cref="ActionsPerUnit"/> actions and
/// <see cref="RequestsPerUnit"/> requests per second (Cloud does not publish its conversion; this one keeps the
/// defaults' ratio of five requests per action).
/// </summary>
public readonly record struct NamespaceLimits(double RequestsPerSecond, double ActionsPerSecond)
{
    public const double ActionsPerUnit = 100;

    public const double RequestsPerUnit = 500;

    /// <summary>The smallest and largest provisioned capacity accepted, in units.</summary>
    public const double MinUnits = 0.1;

    public const double MaxUnits = 10_000;

    /// <summary>Capacities offered as Cloud's <c>valid_tru_values</c> (any value from <see cref="MinUnits"/> to <see cref="MaxUnits"/> is accepted).</summary>
    public static IReadOnlyList<double> OfferedUnits { get; } = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    public static NamespaceLimits Of(NamespaceEntry entry, PipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(options);
        return entry.ProvisionedCapacity is { } units
            ? new NamespaceLimits(units * RequestsPerUnit, units * ActionsPerUnit)
            : new NamespaceLimits(options.NamespaceRequestsPerSecond, options.NamespaceActionsPerSecond);
    }

    /// <summary>Null when <paramref name="units"/> is an acceptable provisioned capacity; otherwise why not.</summary>
    public static string? Invalid(double units) =>
        double.IsFinite(units) && units >= MinUnits && units <= MaxUnits
            ? null
            : $"{units} is not a capacity Bastion provisions: from {MinUnits} to {MaxUnits} units.";
}
