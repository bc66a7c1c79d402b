using System.Diagnostics;

namespace Bastion.LoadTest;

/// <summary>
/// A server already running at <c>--target</c> (another Bastion, or the naive reference of the throughput issue), so
/// every server is driven by the same driver with the same settings. With <c>--target-pid</c> its CPU and memory are
/// read from its process; the driver never starts, stops or cleans it.
/// </summary>
internal sealed class RunningServer(string target, Process? process) : IServerUnderTest
{
    public string Target { get; } = target;

    public string Description => process is null
        ? $"already running at {Target} (no --target-pid: server CPU and memory not measured)"
        : $"already running at {Target}, pid {process.Id}";

    public bool HasExited => process?.HasExited ?? false;

    public Task Exited { get; } = process is null ? new TaskCompletionSource().Task : process.WaitForExitAsync();

    public int LinesAfterReady => 0;

    public TimeSpan? CpuTime()
    {
        if (process is null)
        {
            return null;
        }

        process.Refresh();
        return process.TotalProcessorTime;
    }

    public (double Rss, double PeakRss)? MemoryMiB()
    {
        if (process is null)
        {
            return null;
        }

        process.Refresh();
        return (process.WorkingSet64 / 1048576.0, process.PeakWorkingSet64 / 1048576.0);
    }

    public string RecentOutput() => "  (the server's output is not the driver's to read)";

    public void Dispose() => process?.Dispose();
}
