using Google.Protobuf.Reflection;
using Temporalio.Api.Dependencies.Google.Api;

namespace Bastion.Wire.Http;

/// <summary>
/// Every HTTP route of the bound services, read from the <c>google.api.http</c> annotations of their
/// descriptors at startup: nothing is written per route. A rule that cannot be served (an unknown field, a
/// variable bound to a message) fails the build of the table, so a bad route never waits for its first request.
/// </summary>
internal sealed class HttpRouteTable
{
    private readonly List<HttpRoute> _routes;

    private HttpRouteTable(List<HttpRoute> routes) => _routes = routes;

    public IReadOnlyList<HttpRoute> Routes => _routes;

    public static HttpRouteTable Build(IEnumerable<ServiceDescriptor> services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var routes = new List<HttpRoute>();
        foreach (var method in services.SelectMany(s => s.Methods))
        {
            if (method.GetOptions()?.GetExtension(AnnotationsExtensions.Http) is not { } rule)
            {
                continue;
            }

            routes.Add(ToRoute(method, rule));
            routes.AddRange(rule.AdditionalBindings.Select(binding => ToRoute(method, binding)));
        }

        return new HttpRouteTable(routes);
    }

    /// <summary>The route for a request, preferring the template with the most literal segments when several match.</summary>
    public HttpRouteMatch Match(string httpMethod, IReadOnlyList<string> segments)
    {
        HttpRoute? best = null;
        string[] bestValues = [];
        var allowed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var route in _routes)
        {
            if (!route.Template.TryMatch(segments, out var values))
            {
                continue;
            }

            allowed.Add(route.HttpMethod);
            if (string.Equals(route.HttpMethod, httpMethod, StringComparison.OrdinalIgnoreCase)
                && (best == null || route.Template.LiteralCount > best.Template.LiteralCount))
            {
                best = route;
                bestValues = values;
            }
        }

        return new HttpRouteMatch(best, bestValues, allowed);
    }

    private static HttpRoute ToRoute(MethodDescriptor method, HttpRule rule)
    {
        var (verb, path) = rule.PatternCase switch
        {
            HttpRule.PatternOneofCase.Get => ("GET", rule.Get),
            HttpRule.PatternOneofCase.Put => ("PUT", rule.Put),
            HttpRule.PatternOneofCase.Post => ("POST", rule.Post),
            HttpRule.PatternOneofCase.Delete => ("DELETE", rule.Delete),
            HttpRule.PatternOneofCase.Patch => ("PATCH", rule.Patch),
            HttpRule.PatternOneofCase.Custom => (rule.Custom.Kind.ToUpperInvariant(), rule.Custom.Path),
            _ => throw new InvalidOperationException($"{method.FullName} has an HTTP rule without a pattern."),
        };
        var template = PathTemplate.Parse(path);
        var request = method.InputType;
        foreach (var variable in template.Variables)
        {
            if (FieldPathBinder.Resolve(request, variable) is not { } field || !FieldPathBinder.IsBindable(field) || field.IsRepeated)
            {
                throw new InvalidOperationException($"{method.FullName}: path variable {variable} of {path} is not a scalar field of {request.Name}.");
            }
        }

        var body = string.IsNullOrEmpty(rule.Body) ? null : rule.Body;
        if (body is not null and not "*" && ProtoFields.Find(request, body) == null)
        {
            throw new InvalidOperationException($"{method.FullName}: body field {body} is not a field of {request.Name}.");
        }

        var responseBody = string.IsNullOrEmpty(rule.ResponseBody) ? null : rule.ResponseBody;
        if (responseBody != null && ProtoFields.Find(method.OutputType, responseBody) == null)
        {
            throw new InvalidOperationException($"{method.FullName}: response body field {responseBody} is not a field of {method.OutputType.Name}.");
        }

        return new HttpRoute(verb, template, method, body, responseBody);
    }
}
