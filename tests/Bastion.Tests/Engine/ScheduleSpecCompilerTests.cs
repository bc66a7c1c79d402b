using Bastion.Engine.Errors;
using Bastion.Engine.Schedules;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Schedule.V1;

namespace Bastion.Tests.Engine;

public sealed class ScheduleSpecCompilerTests
{
    private static readonly DateTime s_start = new(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc); // a Monday

    private static List<DateTime> Next(ScheduleSpec spec, DateTime after, int count)
    {
        var compiled = ScheduleSpecCompiler.Compile(spec);
        var times = new List<DateTime>();
        while (times.Count < count && compiled.GetNextTime("seed", after) is { } next)
        {
            times.Add(next.Nominal);
            after = next.Nominal;
        }

        return times;
    }

    private static DateTime Utc(int y, int mo, int d, int h, int mi, int s = 0) => new(y, mo, d, h, mi, s, DateTimeKind.Utc);

    [Fact]
    public void Calendar_StringFields_RangesWithStepAndDefaults()
    {
        var spec = new ScheduleSpec { Calendar = { new CalendarSpec { Minute = "10-40/15", Hour = "9,17" } } };
        Assert.Equal([Utc(2024, 1, 1, 9, 10), Utc(2024, 1, 1, 9, 25), Utc(2024, 1, 1, 9, 40), Utc(2024, 1, 1, 17, 10)], Next(spec, s_start, 4));
    }

    [Fact]
    public void Calendar_DayOfMonthAndDayOfWeek_BothMustMatch()
    {
        // Friday the 13th at noon: 2024-09-13 and 2024-12-13.
        var spec = new ScheduleSpec { Calendar = { new CalendarSpec { Hour = "12", DayOfMonth = "13", DayOfWeek = "fri" } } };
        Assert.Equal([Utc(2024, 9, 13, 12, 0), Utc(2024, 12, 13, 12, 0)], Next(spec, s_start, 2));
    }

    [Fact]
    public void Calendar_DayOfWeekSeven_IsSunday_AndYearRestricts()
    {
        var spec = new ScheduleSpec { StructuredCalendar = { new StructuredCalendarSpec
        {
            Second = { new Temporalio.Api.Schedule.V1.Range { Start = 0 } },
            Minute = { new Temporalio.Api.Schedule.V1.Range { Start = 0 } },
            Hour = { new Temporalio.Api.Schedule.V1.Range { Start = 8 } },
            DayOfMonth = { new Temporalio.Api.Schedule.V1.Range { Start = 1, End = 31 } },
            Month = { new Temporalio.Api.Schedule.V1.Range { Start = 1, End = 12 } },
            DayOfWeek = { new Temporalio.Api.Schedule.V1.Range { Start = 7 } },
            Year = { new Temporalio.Api.Schedule.V1.Range { Start = 2025 } },
        } } };
        Assert.Equal([Utc(2025, 1, 5, 8, 0), Utc(2025, 1, 12, 8, 0)], Next(spec, s_start, 2));
    }

    [Fact]
    public void Interval_WithPhase_AlignsToEpochPlusPhase()
    {
        var spec = new ScheduleSpec { Interval = { new IntervalSpec { Interval = Duration.FromTimeSpan(TimeSpan.FromHours(1)), Phase = Duration.FromTimeSpan(TimeSpan.FromMinutes(15)) } } };
        Assert.Equal([Utc(2024, 1, 1, 0, 15), Utc(2024, 1, 1, 1, 15)], Next(spec, s_start, 2));
    }

    [Theory]
    [InlineData("@every 1h/15m", "2024-01-01T00:15:00Z", "2024-01-01T01:15:00Z")]
    [InlineData("@hourly", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z")]
    [InlineData("@weekly", "2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z")]
    [InlineData("30 6 * * 1-5", "2024-01-01T06:30:00Z", "2024-01-02T06:30:00Z")]
    [InlineData("0 0 0 29 feb * 2028", "2028-02-29T00:00:00Z", null)]
    [InlineData("CRON_TZ=Asia/Tokyo 0 9 * * *", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")]
    public void CronStrings_TemporalDialect(string cron, string first, string? second)
    {
        var times = Next(new ScheduleSpec { CronString = { cron } }, s_start.AddSeconds(-1), 2);
        Assert.Equal(DateTime.Parse(first, null, System.Globalization.DateTimeStyles.AdjustToUniversal), times[0]);
        if (second is null)
        {
            Assert.Single(times);
        }
        else
        {
            Assert.Equal(DateTime.Parse(second, null, System.Globalization.DateTimeStyles.AdjustToUniversal), times[1]);
        }
    }

    [Fact]
    public void CronZone_BecomesTheSpecTimezone_AndStructuredFormIsCanonical()
    {
        var compiled = ScheduleSpecCompiler.Compile(new ScheduleSpec { CronString = { "TZ=Europe/Paris 0 12 * * *" } });
        Assert.Equal("Europe/Paris", compiled.Canonical.TimezoneName);
        Assert.Empty(compiled.Canonical.CronString);
        Assert.Single(compiled.Canonical.StructuredCalendar);
    }

    [Fact]
    public void Timezone_DstGapIsSkipped_AndRepeatedHourFiresTwice()
    {
        // New York: 2024-03-10 02:00 -> 03:00 (no 02:30); 2024-11-03 02:00 -> 01:00 (01:30 twice).
        var spring = new ScheduleSpec { TimezoneName = "America/New_York", Calendar = { new CalendarSpec { Hour = "2", Minute = "30" } } };
        Assert.Equal([Utc(2024, 3, 9, 7, 30), Utc(2024, 3, 11, 6, 30)], Next(spring, Utc(2024, 3, 9, 0, 0), 2));

        var fall = new ScheduleSpec { TimezoneName = "America/New_York", Calendar = { new CalendarSpec { Hour = "1", Minute = "30" } } };
        Assert.Equal([Utc(2024, 11, 3, 5, 30), Utc(2024, 11, 3, 6, 30), Utc(2024, 11, 4, 6, 30)], Next(fall, Utc(2024, 11, 2, 12, 0), 3));
    }

    [Fact]
    public void Exclusions_StartAndEnd_LimitTheTimes()
    {
        var spec = new ScheduleSpec
        {
            Interval = { new IntervalSpec { Interval = Duration.FromTimeSpan(TimeSpan.FromHours(1)) } },
            ExcludeStructuredCalendar = { ScheduleSpecCompiler.ToStructured(new CalendarSpec { Hour = "2", Minute = "*", Second = "*" }) },
            StartTime = Timestamp.FromDateTime(Utc(2024, 1, 1, 1, 0)),
            EndTime = Timestamp.FromDateTime(Utc(2024, 1, 1, 4, 0)),
        };
        Assert.Equal([Utc(2024, 1, 1, 1, 0), Utc(2024, 1, 1, 3, 0), Utc(2024, 1, 1, 4, 0)], Next(spec, s_start, 10));
    }

    [Fact]
    public void Jitter_StaysWithinBoundAndBeforeTheNextTime_AndIsDeterministic()
    {
        var spec = ScheduleSpecCompiler.Compile(new ScheduleSpec
        {
            Interval = { new IntervalSpec { Interval = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)) } },
            Jitter = Duration.FromTimeSpan(TimeSpan.FromHours(1)),
        });
        var after = s_start;
        var jittered = 0;
        for (var i = 0; i < 50; i++)
        {
            var next = spec.GetNextTime("schedule-a", after)!.Value;
            Assert.InRange(next.Next, next.Nominal, next.Nominal.AddMinutes(1).AddTicks(-1));
            Assert.Equal(next, spec.GetNextTime("schedule-a", after));
            jittered += next.Next > next.Nominal ? 1 : 0;
            after = next.Nominal;
        }

        Assert.True(jittered > 0);
    }

    [Theory]
    [InlineData("cron_string[0]", "0 25 * * *")]
    [InlineData("cron_string[0]", "* * *")]
    [InlineData("unknown timezone_name", "CRON_TZ=Mars/Olympus 0 0 * * *")]
    public void BadCron_IsInvalidArgumentNamingTheField(string expected, string cron)
    {
        var e = Assert.Throws<ServiceException>(() => ScheduleSpecCompiler.Compile(new ScheduleSpec { CronString = { cron } }));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZeroInterval_AndPhaseNotBelowInterval_AreInvalid()
    {
        var zero = Assert.Throws<ServiceException>(() => ScheduleSpecCompiler.Compile(new ScheduleSpec { Interval = { new IntervalSpec { Interval = new Duration() } } }));
        Assert.Contains("interval[0]", zero.Message, StringComparison.Ordinal);
        var phase = Assert.Throws<ServiceException>(() => ScheduleSpecCompiler.Compile(new ScheduleSpec
        {
            Interval = { new IntervalSpec { Interval = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)), Phase = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)) } },
        }));
        Assert.Contains("phase", phase.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NominalTimes_ListsTheMatchingTimesInARange()
    {
        var spec = ScheduleSpecCompiler.Compile(new ScheduleSpec { CronString = { "0 */6 * * *" } });
        Assert.Equal([Utc(2024, 1, 1, 0, 0), Utc(2024, 1, 1, 6, 0), Utc(2024, 1, 1, 12, 0)], spec.NominalTimes(s_start, Utc(2024, 1, 1, 12, 0), 100));
    }

    private static string Ranges(IEnumerable<Temporalio.Api.Schedule.V1.Range> ranges) => string.Join(",", ranges.Select(r => $"{r.Start}-{r.End}/{r.Step}"));

    [Fact]
    public void CronString_BecomesTheStructuredCalendarTemporalWrites()
    {
        var calendar = Assert.Single(ScheduleSpecCompiler.Compile(new ScheduleSpec { CronString = { "0 12 * * MON # noon" } }).Canonical.StructuredCalendar);
        Assert.Equal("0-0/0", Ranges(calendar.Second));
        Assert.Equal("12-0/0", Ranges(calendar.Hour));
        Assert.Equal("1-31/0", Ranges(calendar.DayOfMonth));
        Assert.Equal("1-12/0", Ranges(calendar.Month));
        Assert.Empty(calendar.Year); // every year
        Assert.Equal("1-0/0", Ranges(calendar.DayOfWeek));
        Assert.Equal("noon", calendar.Comment);
    }

    [Theory]
    [InlineData("*", "0-6/0")]
    [InlineData("1-7", "0-6/0")]
    [InlineData("5-7", "0-0/0,5-6/0")]
    [InlineData("7", "0-0/0")]
    [InlineData("1-7/2", "0-0/0,1-6/2")]
    [InlineData("0-7/2", "0-6/2")]
    public void DayOfWeekSeven_IsWrittenAsSunday(string field, string expected) =>
        Assert.Equal(expected, Ranges(CalendarField.DayOfWeek.Parse(field)));

    [Fact]
    public void WrittenOut_FillsEndAndStep_AsTemporalDescribes()
    {
        var canonical = ScheduleSpecCompiler.Compile(new ScheduleSpec
        {
            CronString = { "0 12 * * MON" },
            ExcludeStructuredCalendar = { new StructuredCalendarSpec { Year = { new Temporalio.Api.Schedule.V1.Range { Start = 2050 } } } },
        }).Canonical;
        var written = ScheduleSpecCompiler.WrittenOut(canonical);
        var calendar = Assert.Single(written.StructuredCalendar);
        Assert.Equal("0-0/1", Ranges(calendar.Second));
        Assert.Equal("12-12/1", Ranges(calendar.Hour));
        Assert.Equal("1-31/1", Ranges(calendar.DayOfMonth));
        Assert.Equal("1-1/1", Ranges(calendar.DayOfWeek));
        Assert.Equal("2050-2050/1", Ranges(Assert.Single(written.ExcludeStructuredCalendar).Year));
        Assert.Equal("12-0/0", Ranges(canonical.StructuredCalendar[0].Hour)); // the stored form is left as it is
    }
}
