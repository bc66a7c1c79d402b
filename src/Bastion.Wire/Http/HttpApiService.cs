using Google.Protobuf.Reflection;

namespace Bastion.Wire.Http;

/// <summary>A service the HTTP API serves: its descriptor and the handler type whose methods are named after its RPCs.</summary>
public sealed record HttpApiService(ServiceDescriptor Descriptor, Type HandlerType);
