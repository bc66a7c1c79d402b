using System.Text.Json.Serialization;

namespace Bastion.Server.Ui;

/// <summary>
/// What <c>GET /auth/session</c> tells the UI about who is signed in: their name, what they may do on the account
/// (the account pages), and the namespaces they may read, each saying whether they may write or administer there (the
/// UI hides the actions they may not take; the server refuses them anyway). <c>ApiKeyId</c> is empty and
/// <c>Method</c> names the protocol for a single sign-on session.
/// </summary>
internal sealed record UiSessionInfo(
    string Name,
    string Type,
    string Id,
    string ApiKeyId,
    string Method,
    UiSessionInfo.AccountAccess Account,
    IReadOnlyList<UiSessionInfo.NamespaceAccess> Namespaces)
{
    /// <summary>The account permissions the Cloud Ops methods are classified by (<c>MethodClassification</c>).</summary>
    public sealed record AccountAccess(bool Member, bool Read, bool Admin, bool CreateNamespace);

    public sealed record NamespaceAccess(string Name, bool Write, bool Admin);
}

/// <summary>Source-generated serialization for <see cref="UiSessionInfo"/>, names in camelCase as the UI's scripts read them.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(UiSessionInfo))]
internal sealed partial class UiSessionInfoJson : JsonSerializerContext;
