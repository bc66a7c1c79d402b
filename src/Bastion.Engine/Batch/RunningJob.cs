namespace Bastion.Engine.Batch;

/// <summary>A job's loop in this process: how to stop it and when it has stopped.</summary>
internal sealed class RunningJob(CancellationTokenSource cancel, int shardId) : IDisposable
{
    public CancellationToken Token { get; } = cancel.Token;

    /// <summary>The shard whose owner runs the job: losing it stops the loop.</summary>
    public int ShardId { get; } = shardId;

    public Task Completion { get; set; } = Task.CompletedTask;

    /// <summary>Asks the loop to stop after the operation in flight and waits until it has.</summary>
    public async Task StopAsync()
    {
        try
        {
            await cancel.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The loop ended meanwhile.
        }

        await Completion.ConfigureAwait(false);
    }

    public void Dispose() => cancel.Dispose();
}
