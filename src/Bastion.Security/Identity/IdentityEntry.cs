using System.Text.Json.Serialization;

namespace Bastion.Security.Identity;

/// <summary>
/// A stored identity record of an account. <see cref="Version"/> is bumped by every stored change and is the
/// Cloud Ops API's <c>resource_version</c>: a write that names an older one is refused.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(UserEntry), "user")]
[JsonDerivedType(typeof(ServiceAccountEntry), "service-account")]
[JsonDerivedType(typeof(ApiKeyEntry), "api-key")]
[JsonDerivedType(typeof(UserGroupEntry), "group")]
[JsonDerivedType(typeof(OperatorGrantEntry), "operator-grant")]
[JsonDerivedType(typeof(AsyncOperationEntry), "async-operation")]
[JsonDerivedType(typeof(SsoSettingsEntry), "sso-settings")]
public abstract record IdentityEntry
{
    public required string Id { get; init; }

    public required string Account { get; init; }

    public long Version { get; init; }

    public DateTime CreatedTime { get; init; }

    public DateTime LastModifiedTime { get; init; }
}
