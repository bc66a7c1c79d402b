using System.Text;

namespace Bastion.Engine.Deployments;

/// <summary>
/// The routing config that applies to a task queue: its deployment's current version (null build: unversioned workers)
/// and ramping version. Where a workflow's task goes when it is not pinned: to the ramping version when the workflow
/// id's place in [0, 100) falls below the ramp percentage, else to the current one (Temporal hashes the workflow id
/// the same way, so every task of one workflow takes the same side of a ramp).
/// </summary>
public sealed record DeploymentRouting(string DeploymentName, string? CurrentBuildId, bool HasRamping, string? RampingBuildId, float RampPercentage, long RevisionNumber)
{
    /// <summary>The build id a workflow's unpinned task goes to (null: unversioned workers); <paramref name="useRamping"/> takes the ramping version whatever the percentage.</summary>
    public string? TargetBuildId(string workflowId, bool useRamping = false)
    {
        if (HasRamping && (useRamping || RampPlace(workflowId) < RampPercentage))
        {
            return RampingBuildId;
        }

        return CurrentBuildId;
    }

    /// <summary>The workflow id's place in [0, 100): FNV-1a of its UTF-8, scaled.</summary>
    public static double RampPlace(string workflowId)
    {
        ArgumentNullException.ThrowIfNull(workflowId);
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(workflowId))
        {
            hash = unchecked((hash ^ b) * 16777619u);
        }

        return hash / ((double)uint.MaxValue + 1) * 100;
    }
}
