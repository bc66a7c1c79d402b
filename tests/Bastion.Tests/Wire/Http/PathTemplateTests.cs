using Bastion.Wire.Http;

namespace Bastion.Tests.Wire.Http;

public sealed class PathTemplateTests
{
    private static string[] Segments(string path) => path.Split('/')[1..];

    [Fact]
    public void Variables_BindOneSegment_IncludingNestedFieldPaths()
    {
        var template = PathTemplate.Parse("/namespaces/{namespace}/workflows/{execution.workflow_id}/history");
        Assert.Equal(["namespace", "execution.workflow_id"], template.Variables);
        Assert.True(template.TryMatch(Segments("/namespaces/default/workflows/wf-1/history"), out var values));
        Assert.Equal(["default", "wf-1"], values);
        Assert.False(template.TryMatch(Segments("/namespaces/default/workflows/wf-1"), out _));
        Assert.False(template.TryMatch(Segments("/namespaces/default/workflows//history"), out _));
        Assert.False(template.TryMatch(Segments("/namespaces/default/workflows/wf-1/history/more"), out _));
    }

    [Fact]
    public void VariablePatterns_DoubleWildcards_AndVerbs()
    {
        var named = PathTemplate.Parse("/v1/{name=shelves/*}/books");
        Assert.True(named.TryMatch(Segments("/v1/shelves/s1/books"), out var values));
        Assert.Equal(["shelves/s1"], values);
        Assert.False(named.TryMatch(Segments("/v1/racks/s1/books"), out _));

        var rest = PathTemplate.Parse("/files/{path=**}");
        Assert.True(rest.TryMatch(Segments("/files/a/b/c"), out values));
        Assert.Equal(["a/b/c"], values);

        var verb = PathTemplate.Parse("/namespaces/{namespace}/things:reset");
        Assert.Equal("reset", verb.Verb);
        Assert.True(verb.TryMatch(Segments("/namespaces/ns/things:reset"), out values));
        Assert.Equal(["ns"], values);
        Assert.False(verb.TryMatch(Segments("/namespaces/ns/things"), out _));
    }

    [Theory]
    [InlineData("namespaces/{namespace}")]
    [InlineData("/namespaces/{namespace")]
    [InlineData("/namespaces//x")]
    [InlineData("/namespaces/a{b}")]
    public void MalformedTemplates_AreRefused(string template) =>
        Assert.Throws<FormatException>(() => PathTemplate.Parse(template));
}
