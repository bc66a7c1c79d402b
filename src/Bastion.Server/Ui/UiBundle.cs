using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;

namespace Bastion.Server.Ui;

/// <summary>
/// The web UI's built files (ui/, built by the <c>BastionUi</c> MSBuild targets), embedded in this assembly as
/// resources named <c>ui/&lt;path&gt;</c>. A single page app: a path that names no file gets <c>index.html</c>,
/// whose router shows the page (or its own "not found"), except under <c>/_app/</c>, where a missing file is a 404.
/// </summary>
internal sealed class UiBundle
{
    private const string Prefix = "ui/";
    private const string Index = "index.html";
    private static readonly FileExtensionContentTypeProvider s_contentTypes = new();

    private readonly Assembly _assembly;
    private readonly Dictionary<string, string> _resources; // path in the bundle → resource name

    private UiBundle(Assembly assembly)
    {
        _assembly = assembly;
        _resources = assembly.GetManifestResourceNames()
            .Select(name => (Name: name, Path: name.Replace('\\', '/'))) // built on Windows the names carry its separator
            .Where(r => r.Path.StartsWith(Prefix, StringComparison.Ordinal))
            .ToDictionary(r => r.Path[Prefix.Length..], r => r.Name, StringComparer.Ordinal);
    }

    /// <summary>The bundle embedded in this build of Bastion.</summary>
    public static UiBundle Embedded { get; } = new(typeof(UiBundle).Assembly);

    /// <summary>False when Bastion was built with <c>-p:BastionUi=false</c> (no Node.js at hand).</summary>
    public bool IsBuilt => _resources.ContainsKey(Index);

    /// <summary>The number of files in the bundle (tests, diagnostics).</summary>
    public int FileCount => _resources.Count;

    public async Task ServeAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET, HEAD";
            return;
        }

        if (!IsBuilt)
        {
            await WriteTextAsync(
                context,
                StatusCodes.Status503ServiceUnavailable,
                "This Bastion was built without its web UI (-p:BastionUi=false). Build it where Node.js 18+ and npm are installed to serve the UI.");
            return;
        }

        var path = (context.Request.Path.Value ?? "/").TrimStart('/');
        if (!_resources.TryGetValue(path, out var resource))
        {
            if (path.StartsWith("_app/", StringComparison.Ordinal))
            {
                await WriteTextAsync(context, StatusCodes.Status404NotFound, $"No file {context.Request.Path} in the web UI.");
                return;
            }

            path = Index;
            resource = _resources[Index];
        }

        var headers = context.Response.Headers;
        headers.ContentType = s_contentTypes.TryGetContentType(path, out var type) ? type : "application/octet-stream";
        // Files under _app/immutable/ are named by their content hash: cache them for good; the rest must be revalidated.
        headers.CacheControl = path.StartsWith("_app/immutable/", StringComparison.Ordinal) ? "public, max-age=31536000, immutable" : "no-cache";
        SetSecurityHeaders(context.Response);
        await using var stream = _assembly.GetManifestResourceStream(resource)!;
        context.Response.ContentLength = stream.Length;
        if (HttpMethods.IsGet(context.Request.Method))
        {
            await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }

    /// <summary>No framing by other sites (clickjacking of write actions), no type sniffing, no referrer to other origins.</summary>
    public static void SetSecurityHeaders(HttpResponse response)
    {
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Content-Security-Policy"] = "frame-ancestors 'none'";
        response.Headers["Referrer-Policy"] = "same-origin";
    }

    private static async Task WriteTextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        SetSecurityHeaders(context.Response);
        await context.Response.WriteAsync(text + "\n", context.RequestAborted);
    }
}
