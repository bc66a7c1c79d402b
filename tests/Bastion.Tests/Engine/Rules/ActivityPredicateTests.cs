using Bastion.Engine.History;
using Bastion.Engine.Rules;
using Bastion.Visibility;
using Google.Protobuf;
using Temporalio.Api.Failure.V1;

namespace Bastion.Tests.Engine.Rules;

/// <summary>A workflow rule's activity predicate over Temporal's activity fields, with its operators.</summary>
public sealed class ActivityPredicateTests
{
    private static readonly DateTime s_started = new(2023, 10, 26, 14, 30, 0, DateTimeKind.Utc);

    private static ActivityInfo Activity() => new()
    {
        ActivityId = "activity_id",
        ActivityType = "activity_type",
        TaskQueue = "task_queue",
        ScheduledAttributes = [],
        Attempt = 3,
        StartedTime = s_started,
        LastAttemptCompleteTime = s_started.AddSeconds(-20),
        ScheduledTime = s_started.AddSeconds(-10),
        LastFailure = new Failure { Message = "connection refused" }.ToByteArray(),
    };

    [Theory]
    [InlineData("ActivityId = 'activity_id' AND ActivityType = 'activity_type'", true)]
    [InlineData("ActivityId = 'other' OR ActivityType = 'activity_type'", true)]
    [InlineData("ActivityId = 'other' OR (ActivityType = 'activity_type' AND TaskQueue = 'other')", false)]
    [InlineData("ActivityType STARTS_WITH 'activity_'", true)]
    [InlineData("TaskQueue != 'task_queue'", false)]
    [InlineData("ActivityState = 'Started'", true)]
    [InlineData("ActivityStatus != 'Paused'", true)]
    [InlineData("Attempts >= 3", true)]
    [InlineData("ActivityAttempt > 3", false)]
    [InlineData("BackoffInterval = 10", true)]
    [InlineData("BackoffInterval < 10", false)]
    [InlineData("StartedTime >= '2023-10-26T14:30:00Z'", true)]
    [InlineData("StartedTime BETWEEN '2023-10-26T13:00:00Z' AND '2023-10-26T15:00:00Z'", true)]
    [InlineData("StartedTime NOT BETWEEN '2023-10-26T13:00:00Z' AND '2023-10-26T15:00:00Z'", false)]
    [InlineData("LastFailure STARTS_WITH 'connection'", true)]
    [InlineData("LastFailure = 'timeout'", false)]
    public void Predicate_MatchesByTemporalsFields(string predicate, bool matches) =>
        Assert.Equal(matches, ActivityPredicate.Compile(predicate).Matches(Activity()));

    [Fact]
    public void TheFirstAttempt_HasNoBackoff_AndAPausedActivity_IsPaused()
    {
        var first = Activity();
        first.Attempt = 1;
        Assert.False(ActivityPredicate.Compile("BackoffInterval >= 0").Matches(first));

        first.Pause = new PauseInfo();
        Assert.True(ActivityPredicate.Compile("ActivityState = 'Paused'").Matches(first));
    }

    [Theory]
    [InlineData("ActivityType > 'x'")]
    [InlineData("Attempts STARTS_WITH '1'")]
    [InlineData("ActivityType = ''")]
    [InlineData("ActivityType BETWEEN 'a' AND 'b'")]
    [InlineData("ActivityType IS NULL")]
    [InlineData("StartedTime > 'yesterday'")]
    [InlineData("activitytype = 'x'")]
    [InlineData("ActivityType = 'x' ORDER BY StartTime")]
    public void Malformed_IsRefused(string predicate) =>
        Assert.Throws<InvalidQueryException>(() => ActivityPredicate.Compile(predicate));
}
