using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Temporalio.Api.Common.V1;

namespace Bastion.Wire.Http;

/// <summary>
/// Temporal's HTTP API: JSON over HTTP, routed by the <c>google.api.http</c> annotations of the
/// service descriptors. A request becomes the same protobuf message a gRPC client would send and passes the same
/// interceptor (the security pipeline) to the same handler; failures are <c>google.rpc.Status</c> JSON with the
/// HTTP status of their gRPC code. Payloads are shown as shorthand unless <c>?noPayloadShorthand</c> asks otherwise,
/// or the API is made without it (the web UI's origin: the UI reads and writes payloads in the standard form itself).
/// </summary>
public sealed partial class HttpApi
{
    private const string JsonContentType = "application/json";
    private const string NoShorthandMedia = "no-payload-shorthand";
    private const string PrettyMedia = "pretty";

    // application/json responses are not HTML: keep non-ASCII text readable instead of \u-escaping it.
    private static readonly JsonSerializerOptions s_compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions s_pretty = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    private readonly HttpRouteTable _routes;
    private readonly Dictionary<MethodDescriptor, IHttpMethodInvoker> _invokers = [];
    private readonly JsonParser _parser;
    private readonly JsonFormatter _formatter;
    private readonly ILogger _logger;
    private readonly IRefusedCallRecorder? _refusals;
    private readonly bool _payloadShorthand;

    /// <param name="payloadShorthand">False: payloads are standard protojson both ways, whatever the request asks.</param>
    public HttpApi(Interceptor pipeline, IEnumerable<HttpApiService> services, ILogger<HttpApi> logger, bool payloadShorthand = true)
    {
        _payloadShorthand = payloadShorthand;
        _refusals = pipeline as IRefusedCallRecorder;
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(services);
        var list = services.ToList();
        _logger = logger;
        _routes = HttpRouteTable.Build(list.Select(s => s.Descriptor));
        foreach (var service in list)
        {
            foreach (var method in service.Descriptor.Methods)
            {
                var type = typeof(HttpMethodInvoker<,,>).MakeGenericType(service.HandlerType, method.InputType.ClrType, method.OutputType.ClrType);
                _invokers[method] = (IHttpMethodInvoker)Activator.CreateInstance(type, pipeline, method)!;
            }
        }

        // Any-typed fields (error details above all) need their types: the services' files bring their dependencies.
        var registry = TypeRegistry.FromFiles([.. list.Select(s => s.Descriptor.File), Temporalio.Api.ErrorDetails.V1.MessageReflection.Descriptor]);
        _parser = new JsonParser(JsonParser.Settings.Default.WithTypeRegistry(registry).WithIgnoreUnknownFields(false));
        _formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithTypeRegistry(registry));
    }

    internal HttpRouteTable Routes => _routes;

    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var format = ResponseFormat.Of(context.Request, _payloadShorthand);
        string? refusedAs = null; // set while the call has not reached the pipeline, which records it otherwise
        try
        {
            var match = _routes.Match(context.Request.Method, PathSegments(context));
            if (match.Route is not { } route)
            {
                var target = $"{context.Request.Method} {context.Request.Path}";
                await RecordRefusalAsync(context, "/HTTP " + (target.Length > 256 ? target[..256] : target), match.Allowed.Count == 0 ? StatusCode.NotFound : StatusCode.Unimplemented);
                await WriteRoutingErrorAsync(context, match, format);
                return;
            }

            refusedAs = GrpcServiceDescriptors.PathOf(route.Method);
            var request = await BindRequestAsync(context, route, match.Values);
            refusedAs = null;
            var call = new HttpCallContext(context, GrpcServiceDescriptors.PathOf(route.Method));
            var response = await _invokers[route.Method].InvokeAsync(request, call, context.RequestServices);
            await WriteResponseAsync(context, route, response, format);
        }
        catch (RpcException e)
        {
            var error = e;
            if (refusedAs != null)
            {
                try
                {
                    await RecordRefusalAsync(context, refusedAs, e.StatusCode);
                }
                catch (RpcException auditFailure)
                {
                    error = auditFailure; // unrecorded, the call fails as unavailable
                }
            }

            await WriteErrorAsync(context, error, format);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is no one to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            // The pipeline maps every failure of a call; this is a failure of the HTTP layer itself. No internals leak.
            LogInternalError(_logger, e, context.Request.Method, context.Request.Path);
            await WriteErrorAsync(context, new RpcException(new Status(StatusCode.Internal, "Internal error; the server log has the details.")), format);
        }
    }

    /// <summary>
    /// Refuses a request before routing, for a reason of the listener it came on (the web UI's origin checks): audited
    /// as a refused call <c>HTTP METHOD /path</c> and answered as a <c>google.rpc.Status</c>.
    /// </summary>
    public async Task RefuseAsync(HttpContext context, StatusCode code, string message)
    {
        ArgumentNullException.ThrowIfNull(context);
        var format = ResponseFormat.Of(context.Request, _payloadShorthand);
        var target = $"{context.Request.Method} {context.Request.Path}";
        var error = new RpcException(new Status(code, message));
        try
        {
            await RecordRefusalAsync(context, "/HTTP " + (target.Length > 256 ? target[..256] : target), code);
        }
        catch (RpcException auditFailure)
        {
            error = auditFailure; // unrecorded, the call fails as unavailable
        }

        await WriteErrorAsync(context, error, format);
    }

    private async Task RecordRefusalAsync(HttpContext context, string operation, StatusCode status)
    {
        if (_refusals != null)
        {
            await _refusals.RecordRefusalAsync(new HttpCallContext(context, operation), status);
        }
    }

    private async Task<IMessage> BindRequestAsync(HttpContext context, HttpRoute route, IReadOnlyList<string> values)
    {
        var descriptor = route.Method.InputType;
        try
        {
            var root = new JsonObject();
            if (route.Body != null)
            {
                var body = await ReadBodyAsync(context);
                if (route.Body == "*")
                {
                    root = body as JsonObject ?? throw new FormatException($"The request body must be a JSON object (a {descriptor.Name}).");
                }
                else
                {
                    root[ProtoFields.Find(descriptor, route.Body)!.JsonName] = body;
                }

                TemporalJson.ToStandard(root, descriptor, _payloadShorthand && !IsNoShorthand(context.Request.ContentType));
            }

            if (route.Body != "*")
            {
                foreach (var (key, queryValues) in context.Request.Query)
                {
                    if (key is "pretty" or "noPayloadShorthand" || route.Template.Variables.Contains(key)
                        || FieldPathBinder.Resolve(descriptor, key) == null)
                    {
                        continue; // grpc-gateway ignores parameters that name no field; so do we
                    }

                    FieldPathBinder.Set(root, descriptor, key, [.. queryValues.Select(v => v ?? string.Empty)], "Query parameter");
                }
            }

            for (var i = 0; i < values.Count; i++)
            {
                FieldPathBinder.Set(root, descriptor, route.Template.Variables[i], [values[i]], "Path variable");
            }

            return _parser.Parse(root.ToJsonString(), descriptor);
        }
        catch (Exception e) when (e is FormatException or InvalidProtocolBufferException or InvalidJsonException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"The request is not a valid {descriptor.Name}: {e.Message}"));
        }
    }

    private static async Task<JsonNode?> ReadBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        try
        {
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        }
        catch (BadHttpRequestException e)
        {
            throw new FormatException($"the body could not be read ({e.Message})", e);
        }

        if (buffer.Length == 0)
        {
            return new JsonObject(); // grpc-gateway treats an empty body as an empty message
        }

        try
        {
            return JsonNode.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        }
        catch (JsonException e)
        {
            throw new FormatException($"the body is not valid JSON: {e.Message}", e);
        }
    }

    private async Task WriteResponseAsync(HttpContext context, HttpRoute route, IMessage response, ResponseFormat format)
    {
        var json = JsonNode.Parse(_formatter.Format(response))!.AsObject();
        if (format.PayloadShorthand)
        {
            TemporalJson.ToShorthand(json, route.Method.OutputType);
        }

        var body = route.ResponseBody is { } field
            ? json[ProtoFields.Find(route.Method.OutputType, field)!.JsonName] ?? new JsonObject()
            : json;
        await WriteJsonAsync(context, StatusCodes.Status200OK, body, format);
    }

    private async Task WriteErrorAsync(HttpContext context, RpcException error, ResponseFormat format)
    {
        var status = new GrpcStatus { Code = (int)error.StatusCode, Message = error.Status.Detail };
        if (error.Trailers.GetValueBytes("grpc-status-details-bin") is { } details)
        {
            status = GrpcStatus.Parser.ParseFrom(details);
        }

        string text;
        try
        {
            text = _formatter.Format(status);
        }
        catch (InvalidOperationException e)
        {
            // A detail of a type the registry does not know: the code and the message still say what happened.
            LogUnformattableDetail(_logger, e);
            status.Details.Clear();
            text = _formatter.Format(status);
        }

        await WriteJsonAsync(context, HttpStatusMapping.For(error.StatusCode), JsonNode.Parse(text), format);
    }

    private static Task WriteRoutingErrorAsync(HttpContext context, HttpRouteMatch match, ResponseFormat format)
    {
        var target = $"{context.Request.Method} {context.Request.Path}";
        if (match.Allowed.Count == 0)
        {
            return WriteJsonAsync(context, StatusCodes.Status404NotFound, Status(StatusCode.NotFound, $"No HTTP API route matches {target}."), format);
        }

        context.Response.Headers.Allow = string.Join(", ", match.Allowed);
        return WriteJsonAsync(
            context,
            StatusCodes.Status405MethodNotAllowed,
            Status(StatusCode.Unimplemented, $"{target}: the method is not allowed on this path; allowed: {string.Join(", ", match.Allowed)}."),
            format);
    }

    private static JsonObject Status(StatusCode code, string message) => new() { ["code"] = (int)code, ["message"] = message };

    private static async Task WriteJsonAsync(HttpContext context, int status, JsonNode? body, ResponseFormat format)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = JsonContentType;
        await context.Response.WriteAsync(
            (body ?? new JsonObject()).ToJsonString(format.Pretty ? s_pretty : s_compact) + "\n",
            context.RequestAborted);
    }

    /// <summary>The path's segments, each percent-decoded on its own so that an encoded '/' stays inside its segment.</summary>
    private static string[] PathSegments(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var path = raw is { Length: > 0 } && raw[0] == '/' ? raw : context.Request.Path.Value ?? "/";
        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            path = path[..query];
        }

        return [.. path.Split('/').Skip(1).Select(Uri.UnescapeDataString)];
    }

    private static bool IsNoShorthand(string? mediaType) =>
        mediaType != null && mediaType.Contains(NoShorthandMedia, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// How to write the response, as Temporal's HTTP API decides it: <c>?pretty</c> and <c>?noPayloadShorthand</c>,
    /// or the media types <c>application/json+pretty</c> and <c>application/json+no-payload-shorthand</c> in Accept
    /// (or else in Content-Type).
    /// </summary>
    private readonly record struct ResponseFormat(bool Pretty, bool PayloadShorthand)
    {
        public static ResponseFormat Of(HttpRequest request, bool payloadShorthand)
        {
            var media = request.Headers.Accept.FirstOrDefault(a => a?.StartsWith(JsonContentType + "+", StringComparison.OrdinalIgnoreCase) == true)
                ?? request.ContentType ?? string.Empty;
            return new ResponseFormat(
                request.Query.ContainsKey("pretty") || media.Contains("+" + PrettyMedia, StringComparison.OrdinalIgnoreCase),
                payloadShorthand && !request.Query.ContainsKey("noPayloadShorthand") && !IsNoShorthand(media));
        }
    }

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "Internal error serving HTTP API request {Method} {Path}.")]
    private static partial void LogInternalError(ILogger logger, Exception e, string method, PathString path);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "An error detail could not be rendered as JSON; it was left out.")]
    private static partial void LogUnformattableDetail(ILogger logger, Exception e);
}
