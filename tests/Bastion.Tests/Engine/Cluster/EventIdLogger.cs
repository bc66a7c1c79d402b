using Microsoft.Extensions.Logging;

namespace Bastion.Tests.Engine.Cluster;

/// <summary>Records the ids of the events it is given, of those named, in order.</summary>
internal sealed class EventIdLogger(params int[] watched) : ILogger
{
    public List<int> Ids { get; } = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (watched.Contains(eventId.Id))
        {
            Ids.Add(eventId.Id);
        }
    }
}
