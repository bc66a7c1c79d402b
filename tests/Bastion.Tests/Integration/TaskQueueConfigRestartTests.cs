using Temporalio.Api.Enums.V1;

namespace Bastion.Tests.Integration;

/// <summary>A task queue's configuration survives a restart on the same file, and matching enforces it again.</summary>
public sealed class TaskQueueConfigRestartTests : IAsyncLifetime
{
    private readonly FileServer _server = new();

    public Task InitializeAsync() => _server.StartAsync();

    public Task DisposeAsync() => _server.DeleteAsync();

    [Fact]
    public async Task AQueueRateLimit_SurvivesARestart()
    {
        var queue = ServerFixture.NewTaskQueue();
        await _server.Service.UpdateTaskQueueConfigAsync(TaskQueueConfigTests.Limit(queue, 4, reason: "before restart"));

        await _server.RestartAsync();

        var described = await TaskQueueConfigTests.DescribeAsync(_server.Service, queue);
        Assert.Equal((4f, "before restart", "operator"), (described.Config.QueueRateLimit.RateLimit.RequestsPerSecond, described.Config.QueueRateLimit.Metadata.Reason, described.Config.QueueRateLimit.Metadata.UpdateIdentity));
        Assert.Equal((4f, RateLimitSource.Api), (described.EffectiveRateLimit.RequestsPerSecond, described.EffectiveRateLimit.RateLimitSource));

        // Changed after the restart: the stored version moves on.
        var changed = await _server.Service.UpdateTaskQueueConfigAsync(TaskQueueConfigTests.Limit(queue, 2));
        Assert.Equal(2, changed.Config.QueueRateLimit.RateLimit.RequestsPerSecond);
    }
}
