namespace Bastion.Engine.History;

/// <summary>Identifies one run of a workflow within a namespace.</summary>
public readonly record struct WorkflowKey(string NamespaceId, string WorkflowId, string RunId);
