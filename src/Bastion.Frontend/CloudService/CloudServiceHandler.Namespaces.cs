using System.Globalization;
using System.Text;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Visibility;
using Bastion.Security.Authorization;
using Bastion.Security.Identity;
using Bastion.Security.RateLimits;
using Bastion.Security.Tls;
using Grpc.Core;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Namespace.V1;
using Temporalio.Api.Cloud.Resource.V1;

namespace Bastion.Frontend.CloudService;

/// <summary>
/// Namespaces through the Cloud Ops API: <c>NamespaceSpec</c> ↔ the namespace's entry (retention, mTLS CA bundle and
/// filters, API-key auth, codec server, search attributes, delete protection). Namespaces are created in the
/// caller's account; a developer who creates one becomes its namespace admin.
/// </summary>
internal sealed partial class CloudServiceHandler
{
    public async Task<CreateNamespaceResponse> CreateNamespace(CreateNamespaceRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var spec = request.Spec ?? throw ServiceException.InvalidArgument("spec is required.");
        var settings = SettingsOf(spec);
        var entry = await namespaces.CreateAsync(spec.Name, caller.Account, settings.Retention, settings.Tls, e => settings.Apply(e) with { ProvisionedCapacity = settings.Capacity?.Units }).ConfigureAwait(false);
        if (!caller.HasRole(r => r >= AccountRole.Admin))
        {
            await GrantCreatorAdminAsync(caller, entry).ConfigureAwait(false);
        }

        return new CreateNamespaceResponse
        {
            Namespace = entry.FullName,
            AsyncOperation = await OperationAsync(context, "create-namespace", entry.FullName, request.AsyncOperationId).ConfigureAwait(false),
        };
    }

    public Task<GetNamespaceResponse> GetNamespace(GetNamespaceRequest request, ServerCallContext context) =>
        Task.FromResult(new GetNamespaceResponse { Namespace = ToProto(NamespaceNamed(CallerOf(context), request.Namespace)) });

    /// <summary>The namespaces the caller may read, optionally one by name.</summary>
    public Task<GetNamespacesResponse> GetNamespaces(GetNamespacesRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var visible = namespaces.All
            .Where(n => n.Account == caller.Account && caller.Allows(Permission.NamespaceRead, n))
            .Where(n => string.IsNullOrEmpty(request.Name) || n.Name == request.Name || n.FullName == request.Name);
        var (page, next) = Page(visible, request.PageSize, request.PageToken, n => n.FullName);
        var response = new GetNamespacesResponse { NextPageToken = next };
        response.Namespaces.AddRange(page.Select(ToProto));
        return Task.FromResult(response);
    }

    public async Task<UpdateNamespaceResponse> UpdateNamespace(UpdateNamespaceRequest request, ServerCallContext context)
    {
        var caller = CallerOf(context);
        var current = NamespaceNamed(caller, request.Namespace);
        var spec = request.Spec ?? throw ServiceException.InvalidArgument("spec is required.");
        if (!string.IsNullOrEmpty(spec.Name) && spec.Name != current.Name)
        {
            throw ServiceException.InvalidArgument($"spec.name {ServiceException.Quote(spec.Name, 100)} differs from {current.Name}: a namespace cannot be renamed.");
        }

        var settings = SettingsOf(spec);
        var updated = settings.Apply(current with { Retention = settings.Retention, Tls = settings.Tls });
        if (settings.Capacity is { } capacity)
        {
            updated = updated with { ProvisionedCapacity = capacity.Units }; // absent: the capacity stays as it is
        }

        await namespaces.UpdateAsync(updated, ExpectedVersion(request.ResourceVersion)).ConfigureAwait(false);
        return new UpdateNamespaceResponse { AsyncOperation = await OperationAsync(context, "update-namespace", current.FullName, request.AsyncOperationId).ConfigureAwait(false) };
    }

    /// <summary>Deletes a namespace (<see cref="NamespaceDeletion"/>, shared with OperatorService).</summary>
    public async Task<DeleteNamespaceResponse> DeleteNamespace(DeleteNamespaceRequest request, ServerCallContext context)
    {
        var current = NamespaceNamed(CallerOf(context), request.Namespace);
        await deletion.DeleteAsync(current, ExpectedVersion(request.ResourceVersion)).ConfigureAwait(false);
        return new DeleteNamespaceResponse { AsyncOperation = await OperationAsync(context, "delete-namespace", current.FullName, request.AsyncOperationId).ConfigureAwait(false) };
    }

    private async Task GrantCreatorAdminAsync(Principal caller, NamespaceEntry entry)
    {
        switch (caller.Type)
        {
            case PrincipalType.User:
                await identities.UpdateAsync<UserEntry>(caller.Account, caller.Id, "User", null, u => u with { NamespaceAccess = WithGrant(u.NamespaceAccess, entry.Id, Permission.NamespaceAdmin) }).ConfigureAwait(false);
                break;
            case PrincipalType.ServiceAccount:
                await identities.UpdateAsync<ServiceAccountEntry>(caller.Account, caller.Id, "Service account", null, a => a with { NamespaceAccess = WithGrant(a.NamespaceAccess, entry.Id, Permission.NamespaceAdmin) }).ConfigureAwait(false);
                break;
        }
    }

    private static long? ExpectedVersion(string resourceVersion) =>
        string.IsNullOrEmpty(resourceVersion) ? null
        : long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version
        : throw new ServiceException(ErrorKind.FailedPrecondition, $"resource_version {ServiceException.Quote(resourceVersion, 40)} is not this namespace's version: read it again and retry.");

    /// <summary>What a <see cref="NamespaceSpec"/> sets, validated.</summary>
    private NamespaceSettings SettingsOf(NamespaceSpec spec)
    {
        if (spec.RetentionDays is < 1 or > 90)
        {
            throw ServiceException.InvalidArgument($"spec.retention_days {spec.RetentionDays} is out of range: 1 to 90 days.");
        }

        if (spec.Replicas.Count > 0 || spec.HighAvailability is { DisableManagedFailover: true } || spec.ConnectivityRuleIds.Count > 0)
        {
            throw ServiceException.InvalidArgument("Multi-region replicas, failover and connectivity rules are not supported: this server is one region.");
        }

        NamespaceTlsPolicy? tls = null;
        if (spec.MtlsAuth is { } mtls && (mtls.Enabled || !mtls.AcceptedClientCa.IsEmpty))
        {
            var pem = CaPem(mtls.AcceptedClientCa.ToByteArray());
            tls = NamespaceTlsPolicies.Validate(
                new NamespaceTlsPolicy
                {
                    CaBundlePem = pem,
                    Filters = mtls.CertificateFilters
                        .Select(f => new CertificateFilter(NullIfEmpty(f.CommonName), NullIfEmpty(f.Organization), NullIfEmpty(f.OrganizationalUnit), NullIfEmpty(f.SubjectAlternativeName)))
                        .ToList(),
                },
                Now);
        }

        var apiKeyAuth = spec.ApiKeyAuth?.Enabled ?? false;
        if (tls is null && !apiKeyAuth)
        {
            throw ServiceException.InvalidArgument("A namespace needs mtls_auth (a CA bundle) or api_key_auth enabled, or no client could reach it.");
        }

        NamespaceCodecServer? codec = null;
        if (spec.CodecServer is { Endpoint.Length: > 0 } codecSpec)
        {
            if (!Uri.TryCreate(codecSpec.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme != Uri.UriSchemeHttps)
            {
                throw ServiceException.InvalidArgument($"spec.codec_server.endpoint {ServiceException.Quote(codecSpec.Endpoint, 200)} must be an https URL.");
            }

            codec = new NamespaceCodecServer(codecSpec.Endpoint, codecSpec.PassAccessToken, codecSpec.IncludeCrossOriginCredentials);
        }

        // Cloud's enum numbers the types as Temporal's IndexedValueType does, which Bastion.Visibility follows.
        var attributes = new Dictionary<string, SearchAttributeType>(StringComparer.Ordinal);
        foreach (var (name, type) in spec.SearchAttributes)
        {
            attributes[name] = Enum.IsDefined((SearchAttributeType)type)
                ? (SearchAttributeType)type
                : throw ServiceException.InvalidArgument($"spec.search_attributes[{ServiceException.Quote(name, 100)}] has no type.");
        }

#pragma warning disable CS0612 // custom_search_attributes is deprecated by Cloud in favour of search_attributes; still accepted.
        foreach (var (name, type) in spec.CustomSearchAttributes)
#pragma warning restore CS0612
        {
            attributes.TryAdd(name, Enum.TryParse<SearchAttributeType>(type, ignoreCase: true, out var parsed)
                ? parsed
                : throw ServiceException.InvalidArgument($"spec.custom_search_attributes[{ServiceException.Quote(name, 100)}]: {ServiceException.Quote(type, 50)} is not a search attribute type."));
        }

        return new NamespaceSettings(TimeSpan.FromDays(spec.RetentionDays), tls, apiKeyAuth, codec, attributes, spec.Lifecycle?.EnableDeleteProtection ?? false, CapacityOf(spec.CapacitySpec));
    }

    /// <summary>What a capacity spec asks for: null when it is absent; on-demand (no units) or provisioned units, checked.</summary>
    private static CapacityChange? CapacityOf(CapacitySpec? spec) => spec switch
    {
        null => null,
        { Provisioned: { } provisioned } => NamespaceLimits.Invalid(provisioned.Value) is { } why
            ? throw ServiceException.InvalidArgument($"spec.capacity_spec.provisioned.value {why}")
            : new CapacityChange(provisioned.Value),
        { OnDemand: not null } => new CapacityChange(null),
        _ => throw ServiceException.InvalidArgument("spec.capacity_spec names neither on_demand nor provisioned."),
    };

    /// <summary>The CA bundle as PEM: Cloud clients send the PEM itself, or (the older field) its base64.</summary>
    private static string CaPem(byte[] value)
    {
        var text = Encoding.ASCII.GetString(value).Trim();
        if (text.StartsWith("-----BEGIN", StringComparison.Ordinal))
        {
            return text;
        }

        try
        {
            return Encoding.ASCII.GetString(Convert.FromBase64String(text));
        }
        catch (FormatException)
        {
            throw ServiceException.InvalidArgument("spec.mtls_auth.accepted_client_ca is neither PEM nor base64-encoded PEM.");
        }
    }

    private static string? NullIfEmpty(string value) => string.IsNullOrEmpty(value) ? null : value;

    private Namespace ToProto(NamespaceEntry entry)
    {
        var spec = new NamespaceSpec
        {
            Name = entry.Name,
            RetentionDays = (int)entry.Retention.TotalDays,
            ApiKeyAuth = new ApiKeyAuthSpec { Enabled = entry.ApiKeyAuth },
            Lifecycle = new LifecycleSpec { EnableDeleteProtection = entry.DeleteProtection },
        };
        if (entry.Tls is { } tls)
        {
            spec.MtlsAuth = new MtlsAuthSpec { Enabled = true, AcceptedClientCa = Google.Protobuf.ByteString.CopyFromUtf8(tls.CaBundlePem) };
            spec.MtlsAuth.CertificateFilters.AddRange(tls.Filters.Select(f => new CertificateFilterSpec
            {
                CommonName = f.CommonName ?? string.Empty,
                Organization = f.Organization ?? string.Empty,
                OrganizationalUnit = f.OrganizationalUnit ?? string.Empty,
                SubjectAlternativeName = f.SubjectAlternativeName ?? string.Empty,
            }));
        }

        if (entry.CodecServer is { } codec)
        {
            spec.CodecServer = new CodecServerSpec { Endpoint = codec.Endpoint, PassAccessToken = codec.PassAccessToken, IncludeCrossOriginCredentials = codec.IncludeCrossOriginCredentials };
        }

        foreach (var (name, type) in entry.SearchAttributes)
        {
            spec.SearchAttributes[name] = (NamespaceSpec.Types.SearchAttributeType)type;
        }

        spec.CapacitySpec = entry.ProvisionedCapacity is { } units
            ? new CapacitySpec { Provisioned = new CapacitySpec.Types.Provisioned { Value = units } }
            : new CapacitySpec { OnDemand = new CapacitySpec.Types.OnDemand() };
        var host = pipelineOptions.BaseDomain;
        return new Namespace
        {
            Capacity = CapacityOf(entry),
            Limits = new Limits { ActionsPerSecondLimit = (int)Math.Round(NamespaceLimits.Of(entry, pipelineOptions).ActionsPerSecond) },
            Namespace_ = entry.FullName,
            ResourceVersion = entry.Version.ToString(CultureInfo.InvariantCulture),
            Spec = spec,
            State = ResourceState.Active,
            Endpoints = host is null ? null : new Endpoints { GrpcAddress = host, MtlsGrpcAddress = $"{entry.FullName}.{host}", WebAddress = host },
            CreatedTime = Ts(entry.CreatedTime),
            LastModifiedTime = Ts(entry.LastModifiedTime),
        };
    }

    /// <summary>A validated <see cref="NamespaceSpec"/>.</summary>
    private sealed record NamespaceSettings(
        TimeSpan Retention,
        NamespaceTlsPolicy? Tls,
        bool ApiKeyAuth,
        NamespaceCodecServer? CodecServer,
        Dictionary<string, SearchAttributeType> SearchAttributes,
        bool DeleteProtection,
        CapacityChange? Capacity)
    {
        public NamespaceEntry Apply(NamespaceEntry entry) => entry with
        {
            ApiKeyAuth = ApiKeyAuth,
            CodecServer = CodecServer,
            SearchAttributes = SearchAttributes,
            DeleteProtection = DeleteProtection,
        };
    }

    /// <summary>A capacity to set: provisioned units, or null units for on-demand.</summary>
    private sealed record CapacityChange(double? Units);
}
