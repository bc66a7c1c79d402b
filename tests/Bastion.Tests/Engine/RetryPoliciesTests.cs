using Bastion.Engine.History;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;

namespace Bastion.Tests.Engine;

public sealed class RetryPoliciesTests
{
    private static readonly DateTime s_now = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static RetryPolicy Policy(int maxAttempts = 0, params string[] nonRetryable)
    {
        var policy = RetryPolicies.WithDefaults(new RetryPolicy { MaximumAttempts = maxAttempts });
        policy.NonRetryableErrorTypes.AddRange(nonRetryable);
        return policy;
    }

    [Fact]
    public void Defaults_AreTemporals() =>
        Assert.Equal(
            (TimeSpan.FromSeconds(1), 2.0, TimeSpan.FromSeconds(100)),
            (Policy().InitialInterval.ToTimeSpan(), Policy().BackoffCoefficient, Policy().MaximumInterval.ToTimeSpan()));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(10, 100)] // capped at the maximum interval
    public void Backoff_GrowsByTheCoefficient_UpToTheMaximum(int attempt, int expectedSeconds) =>
        Assert.Equal((TimeSpan.FromSeconds(expectedSeconds), RetryState.InProgress), RetryPolicies.NextDelay(Policy(), attempt, null, s_now, null));

    [Fact]
    public void Backoff_FromA100YearInitialInterval_IsCappedAt100Years_WithoutOverflow()
    {
        // The default maximum is 100× the initial interval: 10 000 years, past DateTime's end when added to now.
        var policy = RetryPolicies.WithDefaults(new RetryPolicy { InitialInterval = Duration.FromTimeSpan(DurationCap.Max) });
        var (delay, state) = RetryPolicies.NextDelay(policy, 10, null, s_now, s_now.AddYears(1000));
        Assert.Equal((DurationCap.Max, RetryState.InProgress), (delay, state));
    }

    [Fact]
    public void MaximumAttempts_StopsRetries() =>
        Assert.Equal((null, RetryState.MaximumAttemptsReached), RetryPolicies.NextDelay(Policy(3), 3, null, s_now, null));

    [Fact]
    public void NonRetryableType_AndNonRetryableFlag_StopRetries()
    {
        var typed = new Failure { ApplicationFailureInfo = new() { Type = "Fatal" } };
        Assert.Equal(RetryState.NonRetryableFailure, RetryPolicies.NextDelay(Policy(0, "Fatal"), 1, typed, s_now, null).State);
        var flagged = new Failure { ApplicationFailureInfo = new() { Type = "Other", NonRetryable = true } };
        Assert.Equal(RetryState.NonRetryableFailure, RetryPolicies.NextDelay(Policy(), 1, flagged, s_now, null).State);
    }

    [Fact]
    public void NextRetryDelay_FromTheFailure_WinsOverTheBackoff()
    {
        var failure = new Failure { ApplicationFailureInfo = new() { NextRetryDelay = Duration.FromTimeSpan(TimeSpan.FromSeconds(7)) } };
        Assert.Equal(TimeSpan.FromSeconds(7), RetryPolicies.NextDelay(Policy(), 5, failure, s_now, null).Delay);
    }

    [Fact]
    public void RetryPastTheScheduleToCloseDeadline_IsATimeout() =>
        Assert.Equal((null, RetryState.Timeout), RetryPolicies.NextDelay(Policy(), 1, null, s_now, s_now.AddMilliseconds(500)));

    [Theory]
    [InlineData(0.5, "BackoffCoefficient")]
    [InlineData(-1, "MaximumAttempts")]
    public void Validate_NamesTheBadField(double coefficientOrAttempts, string field)
    {
        var policy = field == "BackoffCoefficient"
            ? new RetryPolicy { BackoffCoefficient = coefficientOrAttempts }
            : new RetryPolicy { MaximumAttempts = (int)coefficientOrAttempts };
        Assert.Contains(field, RetryPolicies.Validate(policy), StringComparison.Ordinal);
    }
}
