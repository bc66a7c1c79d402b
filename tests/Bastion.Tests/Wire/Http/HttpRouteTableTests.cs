using System.Text.RegularExpressions;
using Bastion.Wire;
using Bastion.Wire.Http;
using Temporalio.Api.Dependencies.Google.Api;

namespace Bastion.Tests.Wire.Http;

public sealed partial class HttpRouteTableTests
{
    private static readonly HttpRouteTable s_table = HttpRouteTable.Build(GrpcServiceDescriptors.All);

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Variable();

    [Fact]
    public void EveryAnnotatedBinding_IsRouted_ToItsMethod()
    {
        var expected = 0;
        foreach (var method in GrpcServiceDescriptors.All.SelectMany(s => s.Methods))
        {
            if (method.GetOptions()?.GetExtension(AnnotationsExtensions.Http) is not { } rule)
            {
                continue;
            }

            foreach (var binding in new[] { rule }.Concat(rule.AdditionalBindings))
            {
                expected++;
                var (verb, template) = binding.PatternCase switch
                {
                    HttpRule.PatternOneofCase.Get => ("GET", binding.Get),
                    HttpRule.PatternOneofCase.Post => ("POST", binding.Post),
                    HttpRule.PatternOneofCase.Delete => ("DELETE", binding.Delete),
                    HttpRule.PatternOneofCase.Put => ("PUT", binding.Put),
                    _ => ("PATCH", binding.Patch),
                };
                // A concrete request path: every variable replaced by a value.
                var index = 0;
                var path = Variable().Replace(template, _ => "value" + index++);
                var match = s_table.Match(verb, path.Split('/')[1..]);
                Assert.True(match.Route?.Method == method, $"{verb} {path} routes to {match.Route?.ToString() ?? "nothing"}, not {method.FullName}");
                Assert.Equal(Enumerable.Range(0, index).Select(i => "value" + i), match.Values);
            }
        }

        Assert.Equal(expected, s_table.Routes.Count);
        // WorkflowService annotates 100 methods, OperatorService 6, CloudService 76 (Temporalio 1.21.1).
        Assert.Equal(182, s_table.Routes.Select(r => r.Method).Distinct().Count());
    }

    [Fact]
    public void APathServedUnderOtherMethods_ListsThem()
    {
        var match = s_table.Match("PUT", "api/v1/namespaces/default/schedules/s1".Split('/'));
        Assert.Null(match.Route);
        Assert.Equal(["DELETE", "GET", "POST"], match.Allowed);
        Assert.Empty(s_table.Match("GET", "api/v2/anything".Split('/')).Allowed);
    }
}
