using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Failure.V1;

namespace Bastion.Engine.History;

/// <summary>Temporal's retry rules: defaults, validation and the delay before the next attempt.</summary>
internal static class RetryPolicies
{
    public static string? Validate(RetryPolicy? policy)
    {
        if (policy is null)
        {
            return null;
        }

        if (policy.InitialInterval is { } initial && initial.ToTimeSpan() < TimeSpan.Zero)
        {
            return "InitialInterval cannot be negative on retry policy.";
        }

        if (policy.BackoffCoefficient != 0 && policy.BackoffCoefficient < 1)
        {
            return "BackoffCoefficient cannot be less than 1 on retry policy.";
        }

        if (policy.MaximumInterval is { } max && max.ToTimeSpan() < TimeSpan.Zero)
        {
            return "MaximumInterval cannot be negative on retry policy.";
        }

        if (policy.MaximumInterval is { } maxInterval && maxInterval.ToTimeSpan() > TimeSpan.Zero
            && policy.InitialInterval is { } init && maxInterval.ToTimeSpan() < init.ToTimeSpan())
        {
            return "MaximumInterval cannot be less than InitialInterval on retry policy.";
        }

        if (policy.MaximumAttempts < 0)
        {
            return "MaximumAttempts cannot be negative on retry policy.";
        }

        return null;
    }

    /// <summary>The policy with Temporal's defaults filled in (1s initial, ×2, max 100× initial, unlimited attempts).</summary>
    public static RetryPolicy WithDefaults(RetryPolicy? policy)
    {
        var result = policy?.Clone() ?? new RetryPolicy();
        if (result.InitialInterval is null || result.InitialInterval.ToTimeSpan() <= TimeSpan.Zero)
        {
            result.InitialInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1));
        }

        if (result.BackoffCoefficient == 0)
        {
            result.BackoffCoefficient = 2.0;
        }

        if (result.MaximumInterval is null || result.MaximumInterval.ToTimeSpan() <= TimeSpan.Zero)
        {
            result.MaximumInterval = Duration.FromTimeSpan(result.InitialInterval.ToTimeSpan() * 100);
        }

        return result;
    }

    /// <summary>
    /// The delay before attempt <paramref name="attempt"/> + 1 after <paramref name="failure"/>, or the retry state that
    /// says why there is none.
    /// </summary>
    public static (TimeSpan? Delay, Temporalio.Api.Enums.V1.RetryState State) NextDelay(RetryPolicy policy, int attempt, Failure? failure, DateTime now, DateTime? deadline)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.MaximumAttempts == 1)
        {
            return (null, Temporalio.Api.Enums.V1.RetryState.RetryPolicyNotSet);
        }

        if (failure?.ApplicationFailureInfo is { } app)
        {
            if (app.NonRetryable || policy.NonRetryableErrorTypes.Contains(app.Type))
            {
                return (null, Temporalio.Api.Enums.V1.RetryState.NonRetryableFailure);
            }
        }

        if (policy.MaximumAttempts > 0 && attempt >= policy.MaximumAttempts)
        {
            return (null, Temporalio.Api.Enums.V1.RetryState.MaximumAttemptsReached);
        }

        TimeSpan delay;
        if (failure?.ApplicationFailureInfo?.NextRetryDelay is { } explicitDelay && explicitDelay.ToTimeSpan() > TimeSpan.Zero)
        {
            delay = explicitDelay.ToTimeSpan();
        }
        else
        {
            var initial = policy.InitialInterval.ToTimeSpan().TotalSeconds;
            var seconds = initial * Math.Pow(policy.BackoffCoefficient, attempt - 1);
            var max = policy.MaximumInterval.ToTimeSpan().TotalSeconds;
            delay = TimeSpan.FromSeconds(double.IsFinite(seconds) ? Math.Min(seconds, max) : max);
        }

        // Intervals are capped at the boundary, but a maximum of 100× a capped initial interval is not.
        delay = DurationCap.Apply(delay);

        if (deadline is { } d && now + delay >= d)
        {
            return (null, Temporalio.Api.Enums.V1.RetryState.Timeout);
        }

        return (delay, Temporalio.Api.Enums.V1.RetryState.InProgress);
    }
}
