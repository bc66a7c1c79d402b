using System.Net;

namespace Bastion.Tests.Ui;

/// <summary>A signed-in browser's two cookies, as the sign-in response set them, and requests made with them.</summary>
internal sealed record UiCookies(string Session, string Csrf)
{
    public string Header => $"__Host-bastion-session={Session}; _csrf={Csrf}";

    /// <summary>Signs in with <paramref name="apiKey"/> (it must be accepted) and returns the cookies set.</summary>
    public static async Task<UiCookies> SignInAsync(HttpClient http, string apiKey)
    {
        using var response = await SignInServer.SignInAsync(http, apiKey);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var set = SetCookies(response);
        return new UiCookies(set["__Host-bastion-session"].Value, set["_csrf"].Value);
    }

    /// <summary>The response's Set-Cookie headers by name: value and lower-cased attributes.</summary>
    public static Dictionary<string, (string Value, string[] Attributes)> SetCookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.Select(v => v.Split(';', StringSplitOptions.TrimEntries))
                .ToDictionary(parts => parts[0][..parts[0].IndexOf('=', StringComparison.Ordinal)], parts => (parts[0][(parts[0].IndexOf('=', StringComparison.Ordinal) + 1)..], parts[1..].Select(a => a.ToLowerInvariant()).ToArray()))
            : [];

    /// <summary>A request as the UI's scripts make it (with its <c>Caller-Type</c> header), with these cookies and the given CSRF token.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, UiCookies? cookies, string? csrf = null, string? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (cookies != null)
        {
            request.Headers.Add("Cookie", cookies.Header);
        }

        request.Headers.Add("Caller-Type", "operator");
        if (csrf != null)
        {
            request.Headers.Add("X-CSRF-TOKEN", csrf);
        }

        if (body != null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }

        return await http.SendAsync(request);
    }
}
