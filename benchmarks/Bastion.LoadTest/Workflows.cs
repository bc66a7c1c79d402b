using Temporalio.Activities;
using Temporalio.Workflows;

namespace Bastion.LoadTest;

/// <summary>"noactivity": one workflow task, completes with its input.</summary>
[Workflow]
public sealed class EchoWorkflow
{
    [WorkflowRun]
    public Task<string> RunAsync(string input) => Task.FromResult(input);
}

/// <summary>"activity": schedules one activity and completes with its result.</summary>
[Workflow]
public sealed class OneActivityWorkflow
{
    private static readonly ActivityOptions s_activityOptions = new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) };

    [WorkflowRun]
    public Task<string> RunAsync(string input) =>
        Workflow.ExecuteActivityAsync(() => BenchActivities.Greet(input), s_activityOptions);
}

/// <summary>"timers": stays open, waiting on a one-hour timer (what an open workflow costs the server's memory).</summary>
[Workflow]
public sealed class TimerWorkflow
{
    [WorkflowRun]
    public async Task<string> RunAsync(string input)
    {
        await Workflow.DelayAsync(TimeSpan.FromHours(1));
        return input;
    }
}

public static class BenchActivities
{
    [Activity]
    public static string Greet(string input) => "hello " + input;
}
