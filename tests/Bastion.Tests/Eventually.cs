namespace Bastion.Tests;

/// <summary>
/// The tests' bounded wait: polls a condition until it holds or the bound passes, and says which; the caller
/// asserts on what it sees afterwards. Never a timing assertion: the bound only keeps a broken server from hanging
/// the suite.
/// </summary>
internal static class Eventually
{
    private static readonly TimeSpan s_defaultBound = TimeSpan.FromSeconds(15);

    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan? bound = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + (bound ?? s_defaultBound);
        while (!await condition().ConfigureAwait(false))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(25).ConfigureAwait(false);
        }

        return true;
    }
}
