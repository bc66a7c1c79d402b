using Bastion.Engine.Errors;
using Bastion.Engine.History;

namespace Bastion.Tests.Engine;

public sealed class CronScheduleTests
{
    private static readonly DateTime s_now = new(2026, 11, 29, 10, 17, 30, DateTimeKind.Utc);

    [Theory]
    [InlineData("*/5 * * * *", 150)] // next 10:20:00
    [InlineData("@hourly", 2550)] // next 11:00:00
    [InlineData("@every 1m", 30)] // epoch-aligned minutes
    [InlineData("@every 1h30m", 750)] // 1.5 h slots since the epoch (16 a day): next at 10:30:00
    [InlineData("CRON_TZ=UTC 0 11 * * *", 2550)]
    public void DelayAfter_IsTheWaitToTheNextScheduledTime(string spec, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), CronSchedule.Parse(spec).DelayAfter(s_now));

    [Theory]
    [InlineData("every minute")]
    [InlineData("* * *")]
    [InlineData("@every 0s")]
    [InlineData("CRON_TZ=Mars/Olympus 0 9 * * *")]
    public void BadSchedules_AreInvalidArgument(string spec)
    {
        var error = Assert.Throws<ServiceException>(() => CronSchedule.Parse(spec));
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("Invalid CronSchedule", error.Message, StringComparison.Ordinal);
    }
}
