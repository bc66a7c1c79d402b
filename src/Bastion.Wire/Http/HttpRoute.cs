using Google.Protobuf.Reflection;

namespace Bastion.Wire.Http;

/// <summary>
/// One HTTP binding of an RPC, from its <c>google.api.http</c> rule (the primary pattern or one of its
/// <c>additional_bindings</c>). <see cref="Body"/> is <c>*</c> (the whole request), a field name, or null (no body:
/// query parameters set the fields the path does not).
/// </summary>
internal sealed record HttpRoute(string HttpMethod, PathTemplate Template, MethodDescriptor Method, string? Body, string? ResponseBody)
{
    public override string ToString() => $"{HttpMethod} {Template.Text} → {Method.Service.Name}/{Method.Name}";
}
