namespace Bastion.Frontend;

/// <summary>Frontend settings that callers can see.</summary>
public sealed class FrontendOptions
{
    public const int DefaultMaxPayloadBytes = 2 * 1024 * 1024;

    /// <summary>Largest payload (input, result, details) a request may carry; Temporal's default blob limit.</summary>
    public int MaxPayloadBytes { get; set; } = DefaultMaxPayloadBytes;

    /// <summary>Longest a poll or a waiting history read is held before it answers empty.</summary>
    public TimeSpan MaxLongPoll { get; set; } = TimeSpan.FromSeconds(60);

    public string ServerVersion { get; set; } = "0.1.0";

    /// <summary>
    /// Eager workflow start: a start that asks for it gets the first workflow task in its response (Temporal's
    /// <c>system.enableEagerWorkflowStart</c>, on by default since Temporal 1.24). Off, the request's ask is ignored.
    /// </summary>
    public bool EnableEagerWorkflowStart { get; set; } = true;

    /// <summary>
    /// Temporal's <c>frontend.pollerAutoscalingAutoEnroll</c> (off by default): namespaces tell workers to autoscale their
    /// pollers unless configured otherwise (the SDKs that know the capability do; a worker with a fixed count keeps it).
    /// </summary>
    public bool PollerAutoscalingAutoEnroll { get; set; }

    /// <summary>Worker deployment versions (Temporal's <c>system.enableDeploymentVersions</c>, on by default): off, their RPCs are PERMISSION_DENIED.</summary>
    public bool EnableDeploymentVersions { get; set; } = true;

    /// <summary>
    /// Temporal's <c>frontend.workerVersioningDataAPIs</c> (off by default): the deprecated build-id compatibility APIs. Off,
    /// they are PERMISSION_DENIED as in Temporal; on, UNIMPLEMENTED — Bastion has no version-set routing.
    /// </summary>
    public bool WorkerVersioningDataApis { get; set; }

    /// <summary>Temporal's <c>frontend.workerVersioningRuleAPIs</c> (off by default): the deprecated versioning-rules APIs, as above.</summary>
    public bool WorkerVersioningRuleApis { get; set; }

    /// <summary>Temporal's <c>frontend.workflowRulesAPIsEnabled</c> (off by default): off, the workflow rule RPCs are UNIMPLEMENTED as in Temporal.</summary>
    public bool WorkflowRulesApis { get; set; }

    /// <summary>Temporal's <c>frontend.maxWorkflowRulesPerNamespace</c>.</summary>
    public int MaxWorkflowRulesPerNamespace { get; set; } = 10;
}
