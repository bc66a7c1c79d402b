using System.Text.Json.Serialization;
using Temporalio.Api.Common.V1;

namespace Bastion.Engine.Matching;

/// <summary>
/// The <c>Priority</c> a task is dispatched with, as a value (no allocation when a task has none): its priority key (0:
/// the queue's default level), fairness key (empty: the one implicit key of unkeyed tasks) and fairness weight (0: 1.0).
/// A field left zero or empty inherits: an activity from its workflow, a child and a continued run from the run that
/// made them, as Temporal's <c>Priority</c> documents.
/// </summary>
public readonly record struct TaskPriority(int Key, string? FairnessKey, float Weight)
{
    /// <summary>Temporal's weight bounds (<c>fairness_weight</c>); below the lowest a stride would overflow its meaning.</summary>
    public const float MinWeight = 0.001f;

    /// <summary>A task's <c>Priority</c> message as a value; null or empty: the default.</summary>
    public static TaskPriority From(Priority? priority) =>
        priority is null ? default : new TaskPriority(priority.PriorityKey, string.IsNullOrEmpty(priority.FairnessKey) ? null : priority.FairnessKey, priority.FairnessWeight);

    /// <summary>Nothing set: the value the common task carries.</summary>
    [JsonIgnore]
    public bool IsDefault => Key == 0 && FairnessKey is null && Weight == 0;

    /// <summary>Each field of <paramref name="own"/> that is set wins; the others come from <paramref name="inherited"/>.</summary>
    public static TaskPriority Merge(TaskPriority inherited, TaskPriority own) => own.IsDefault ? inherited : new(
        own.Key != 0 ? own.Key : inherited.Key,
        own.FairnessKey ?? inherited.FairnessKey,
        own.Weight != 0 ? own.Weight : inherited.Weight);

    /// <summary>The message form (null for the default), as history and describe show it.</summary>
    public Priority? ToProto() => IsDefault ? null : new Priority { PriorityKey = Key, FairnessKey = FairnessKey ?? string.Empty, FairnessWeight = Weight };

    /// <summary>
    /// The weight dispatch uses: the queue's override for the key when there is one, else the task's; zero or negative
    /// means 1.0, and a positive weight is at least <see cref="MinWeight"/> (Temporal's <c>getEffectiveWeight</c>).
    /// </summary>
    public float EffectiveWeight(IReadOnlyDictionary<string, float>? overrides)
    {
        var weight = overrides is not null && overrides.TryGetValue(FairnessKey ?? string.Empty, out var set) ? set : Weight;
        return weight <= 0 ? 1f : Math.Max(weight, MinWeight);
    }
}
