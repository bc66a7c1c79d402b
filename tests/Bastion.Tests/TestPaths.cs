namespace Bastion.Tests;

internal static class TestPaths
{
    /// <summary>The checkout's root: the first directory above the test binaries holding Bastion.slnx.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Bastion.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Bastion.slnx not found above the test directory.");
    }
}
