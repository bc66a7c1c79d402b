namespace Bastion.Engine.History;

/// <summary>
/// Runs that are not workflows — standalone activities and standalone Nexus operations — live under workflow ids that
/// begin with U+001F (a control character no SDK puts in a workflow id), so their ids and workflow ids are separate
/// spaces, as in Temporal. A client's or a workflow's workflow id may not begin with it.
/// </summary>
internal static class HiddenRuns
{
    /// <summary>Begins (and ends) every hidden run's id prefix.</summary>
    public const string Mark = "\u001f";

    public static bool IsHidden(string? workflowId) => workflowId is not null && workflowId.StartsWith(Mark, StringComparison.Ordinal);

    /// <summary>The precise refusal of a workflow id in the hidden space, for clients and for workflow commands.</summary>
    public const string Refusal = "WorkflowId may not begin with the control character U+001F: that prefix is reserved for standalone activities and Nexus operations.";
}
