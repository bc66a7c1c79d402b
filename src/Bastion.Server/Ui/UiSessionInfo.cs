using System.Text.Json.Serialization;

namespace Bastion.Server.Ui;

/// <summary>
/// What <c>GET /auth/session</c> tells the UI about who is signed in: their name, and the namespaces they may read,
/// each saying whether they may write there (the UI hides write actions where not; the server refuses them anyway).
/// </summary>
internal sealed record UiSessionInfo(string Name, string Type, string Id, string ApiKeyId, IReadOnlyList<UiSessionInfo.NamespaceAccess> Namespaces)
{
    public sealed record NamespaceAccess(string Name, bool Write);
}

/// <summary>Source-generated serialization for <see cref="UiSessionInfo"/>, names in camelCase as the UI's scripts read them.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(UiSessionInfo))]
internal sealed partial class UiSessionInfoJson : JsonSerializerContext;
