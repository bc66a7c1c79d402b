namespace Bastion.LoadTest;

/// <summary>The server the driver measures: one it starts (<see cref="ServerProcess"/>) or one already running (<see cref="RunningServer"/>).</summary>
internal interface IServerUnderTest : IDisposable
{
    /// <summary>host:port the client connects to.</summary>
    string Target { get; }

    /// <summary>One line for the header: what it is and where.</summary>
    string Description { get; }

    bool HasExited { get; }

    /// <summary>Completes when the server's process exits (never, for a server whose process is unknown).</summary>
    Task Exited { get; }

    /// <summary>Lines the server printed after it was ready (0 when its output is not ours to read).</summary>
    int LinesAfterReady { get; }

    /// <summary>CPU time (user + system) its process has used so far; null when the process is unknown.</summary>
    TimeSpan? CpuTime();

    /// <summary>Resident and peak resident memory of its process, in MiB; null when the process is unknown.</summary>
    (double Rss, double PeakRss)? MemoryMiB();

    string RecentOutput();
}
