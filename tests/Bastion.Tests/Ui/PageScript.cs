using System.Text.Json;
using Microsoft.Playwright;

namespace Bastion.Tests.Ui;

/// <summary>
/// A call on the UI's API made by a script on a signed-in page, as any script there could make it (a forged write):
/// the UI's <c>Caller-Type</c> header and a CSRF token — none, a made-up one, or the session's own, read from its
/// cookie (<see cref="SessionToken"/>).
/// </summary>
internal static class PageScript
{
    /// <summary>Send the session's CSRF token, as the UI's own pages do.</summary>
    public const string SessionToken = "<the session's>";

    private const string Fetch = """
        async ([method, url, body, token, sessionToken]) => {
          const headers = { 'Content-Type': 'application/json', 'Caller-Type': 'operator' };
          if (token === sessionToken) token = document.cookie.split(';').map(c => c.trim()).find(c => c.startsWith('_csrf='))?.slice(6) ?? '';
          if (token !== null) headers['X-CSRF-TOKEN'] = token;
          const response = await fetch(url, { method, headers, body });
          const json = await response.json().catch(() => ({}));
          return { status: response.status, code: json.code ?? 0, message: json.message ?? '' };
        }
        """;

    /// <returns>The HTTP status, the google.rpc.Status code (0 when none) and its message.</returns>
    public static async Task<(int Status, int Code, string Message)> FetchAsync(IPage page, string method, string path, string? body, string? csrf = SessionToken)
    {
        var answer = (await page.EvaluateAsync<JsonElement?>(Fetch, new object?[] { method, path, body, csrf, SessionToken }))!.Value;
        return (answer.GetProperty("status").GetInt32(), answer.GetProperty("code").GetInt32(), answer.GetProperty("message").GetString() ?? string.Empty);
    }
}
