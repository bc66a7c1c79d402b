using System.Text;

namespace Bastion.Tests.Encryption;

/// <summary>
/// Looks for canary strings in every file of a directory: as UTF-8, UTF-16, base64 (at each alignment) and lowercase
/// hex (how a PostgreSQL dump writes <c>bytea</c>).
/// </summary>
internal static class CanaryScan
{
    public static IReadOnlyList<string> Find(string directory, IEnumerable<string> canaries)
    {
        var forms = canaries.SelectMany(Forms).ToList();
        var found = new List<string>();
        foreach (var file in Directory.GetFiles(directory))
        {
            byte[] bytes;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                bytes = copy.ToArray();
            }

            found.AddRange(forms.Where(f => bytes.AsSpan().IndexOf(f.Bytes) >= 0).Select(f => $"{f.Name} in {Path.GetFileName(file)}"));
        }

        return found;
    }

    private static IEnumerable<(string Name, byte[] Bytes)> Forms(string canary)
    {
        yield return ($"{canary} (UTF-8)", Encoding.UTF8.GetBytes(canary));
        yield return ($"{canary} (UTF-16)", Encoding.Unicode.GetBytes(canary));
        yield return ($"{canary} (hex)", Encoding.ASCII.GetBytes(Convert.ToHexStringLower(Encoding.UTF8.GetBytes(canary))));
        for (var shift = 0; shift < 3; shift++)
        {
            // The characters of the base64 text that depend on the canary alone, whatever precedes it.
            var text = Convert.ToBase64String([.. new byte[shift], .. Encoding.UTF8.GetBytes(canary)]);
            var stable = text[4..^4];
            yield return ($"{canary} (base64, shift {shift})", Encoding.ASCII.GetBytes(stable));
        }
    }
}
