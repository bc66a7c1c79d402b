using Bastion.Api.Cloud.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Bastion.Wire;

/// <summary>
/// The client side of Bastion's SSO API (<c>bastion.cloud.v1.SsoService</c>; the server binds it by descriptor like
/// Temporal's services): a method by name, for a channel's <see cref="CallInvoker"/>. Every method answers the settings.
/// </summary>
public static class SsoServiceMethods
{
    public const string GetSsoSettings = nameof(GetSsoSettings);
    public const string UpdateSsoRules = nameof(UpdateSsoRules);
    public const string SetOidcProvider = nameof(SetOidcProvider);
    public const string SetSamlProvider = nameof(SetSamlProvider);
    public const string DisableSsoProvider = nameof(DisableSsoProvider);

    public static Method<TRequest, SsoSettingsResponse> Of<TRequest>(string name)
        where TRequest : class, IMessage<TRequest>, new() =>
        new(MethodType.Unary, GrpcServiceDescriptors.SsoService.FullName, name, ProtobufMarshaller.For<TRequest>(), ProtobufMarshaller.For<SsoSettingsResponse>());
}
