using System.Text.Json.Serialization;

namespace Bastion.Security.Identity;

[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(IdentityEntry))]
internal sealed partial class IdentityJsonContext : JsonSerializerContext;
