using Bastion.Storage;
using Bastion.Storage.Sqlite;

namespace Bastion.Tests.Storage;

/// <summary>
/// A transition that writes settings every node keeps in memory (here a namespace) tells the process after it has
/// committed and before its caller goes on — in a cluster the other nodes read them again then — and a run's
/// transition does not.
/// </summary>
public sealed class GroupCommitterSettingsTests : IAsyncLifetime
{
    private readonly SqliteStorageProvider _store = SqliteStorageProvider.OpenInMemory();

    public async Task InitializeAsync() => await _store.MigrateAsync(1, CancellationToken.None);

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task ASettingsWrite_IsToldAfterItCommitted_BeforeItsCallerGoesOn()
    {
        await using var committer = new GroupCommitter(_store, AuditRecordCodec.Plain);
        var told = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var committedWhenTold = false;
        committer.SettingsCommitted = async () =>
        {
            committedWhenTold = (await _store.Metadata.ListNamespacesAsync(CancellationToken.None)).Any(n => n.Id == "id-1");
            told.SetResult();
            await release.Task;
        };

        var write = committer.CommitAsync(new Transition([]) { Namespace = new NamespaceWrite(new NamespaceRecord("id-1", "alpha", "acct", [7])) });
        await told.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(committedWhenTold);
        Assert.False(write.IsCompleted); // the caller waits for the others
        release.SetResult();
        await write;

        var range = await _store.AcquireRangeAsync(0);
        committer.SettingsCommitted = () => throw new InvalidOperationException("a run's transition told");
        await committer.CommitAsync([GroupCommitterAuditTests.NewRun(range, "wf-1", "run-1")]);
    }
}
