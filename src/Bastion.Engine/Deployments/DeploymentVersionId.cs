using Bastion.Engine.Errors;
using Temporalio.Api.Deployment.V1;

namespace Bastion.Engine.Deployments;

/// <summary>
/// A worker deployment version: a deployment name and a build id. Temporal's canonical string is
/// <c>deployment.build</c> (the deprecated string fields carry it); <c>__unversioned__</c> names unversioned workers.
/// </summary>
public readonly record struct DeploymentVersionId(string DeploymentName, string BuildId)
{
    /// <summary>The deprecated string form of "unversioned" (Temporal's <c>UnversionedVersionId</c>).</summary>
    public const string Unversioned = "__unversioned__";

    public string Canonical => $"{DeploymentName}.{BuildId}";

    public WorkerDeploymentVersion ToProto() => new() { DeploymentName = DeploymentName, BuildId = BuildId };

    public static DeploymentVersionId? From(WorkerDeploymentVersion? version) =>
        version is null || (version.DeploymentName.Length == 0 && version.BuildId.Length == 0) ? null : new(version.DeploymentName, version.BuildId);

    /// <summary>The canonical string parsed (split at the first '.'); INVALID_ARGUMENT naming the field when it is not one.</summary>
    public static DeploymentVersionId Parse(string text, string field)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && dot < text.Length - 1
            ? new(text[..dot], text[(dot + 1)..])
            : throw ServiceException.InvalidArgument($"invalid {field} {ServiceException.Quote(text, 200)}, expected format is \"<deployment_name>.<build_id>\"");
    }

    /// <summary>The version a request names: its <c>WorkerDeploymentVersion</c> message, else the deprecated canonical string.</summary>
    public static DeploymentVersionId FromRequest(WorkerDeploymentVersion? version, string deprecated, string field)
    {
        if (From(version) is { } given)
        {
            Validate(given.DeploymentName, "deployment_name");
            Validate(given.BuildId, "build_id");
            return given;
        }

        return deprecated.Length == 0 ? throw ServiceException.InvalidArgument($"{field} is required") : Parse(deprecated, field);
    }

    /// <summary>Temporal's rules for deployment names and build ids: not empty, at most 255 characters, no '.' in a deployment name.</summary>
    public static void Validate(string value, string field)
    {
        if (value.Length == 0)
        {
            throw ServiceException.InvalidArgument($"{field} cannot be empty");
        }

        if (value.Length > 255)
        {
            throw ServiceException.InvalidArgument($"{field} cannot be longer than 255 characters");
        }

        if (field == "deployment_name" && value.Contains('.', StringComparison.Ordinal))
        {
            throw ServiceException.InvalidArgument($"{field} cannot contain '.'");
        }

        if (value == Unversioned)
        {
            throw ServiceException.InvalidArgument($"{field} cannot be {Unversioned}");
        }
    }
}
