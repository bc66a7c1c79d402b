using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using Bastion.Engine.Errors;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace Bastion.Security.Pipeline;

/// <summary>
/// The pipeline's boundary check of every request, whatever its method: each <c>Timestamp</c>, <c>Duration</c>, float
/// and enum field anywhere in it (nested messages, repeated fields, map values) must hold a value protobuf defines —
/// a timestamp in 0001-01-01..9999-12-31 with nanos in [0, 1e9), a duration of at most ±10 000 years with nanos of
/// the same sign, an enum number its enum declares, a finite float. Anything else is INVALID_ARGUMENT naming the field path, e.g.
/// <c>start_time_filter.earliest_time: timestamp out of range</c>, instead of an overflow deep in a handler.
/// A valid duration longer than 100 years either way is capped to 100 years in place, as Temporal caps them
/// (<c>maxAllowedDuration</c>; Go's durations end at 292 years anyway), so that no timeout, interval or delay can
/// overflow date arithmetic further in. What each message type can contain is worked out once per descriptor; a request type that can contain none of
/// these costs one dictionary lookup.
/// </summary>
/// <remarks>
/// Undefined enum numbers are refused although proto3 enums are open and Temporal mostly reads them as unspecified:
/// Bastion serves one API version, and a number it does not know would otherwise be acted on as a guess.
/// </remarks>
public static class RequestValidator
{
    /// <summary>Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the Timestamp range.</summary>
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxTimestampSeconds = 253_402_300_799;

    /// <summary>10 000 years of 365.25 days, the Duration range.</summary>
    private const long MaxDurationSeconds = 315_576_000_000;
    private const int NanosPerSecond = 1_000_000_000;

    private const long CapSeconds = Bastion.Engine.History.DurationCap.MaxSeconds;

    private static readonly ConcurrentDictionary<MessageDescriptor, MessagePlan> s_plans = new();
    private static readonly Lock s_planning = new();

    /// <summary>Throws INVALID_ARGUMENT naming the first field whose value is out of its type's range; caps long durations.</summary>
    public static void Validate(IMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = PlanOf(request.Descriptor);
        if (plan.Checks.Length != 0 && Check(request, plan) is { } failure)
        {
            throw ServiceException.InvalidArgument(failure.ToString());
        }
    }

    private static Failure? Check(IMessage message, MessagePlan plan)
    {
        foreach (var check in plan.Checks)
        {
            var value = check.Field.Accessor.GetValue(message);
            if (check.Field.IsMap)
            {
                foreach (DictionaryEntry entry in (IDictionary)value)
                {
                    if (CheckValue(check, entry.Value) is { } failure)
                    {
                        return failure.Under(check.Field.Name, key: entry.Key);
                    }
                }
            }
            else if (check.Field.IsRepeated)
            {
                var list = (IList)value;
                for (var i = 0; i < list.Count; i++)
                {
                    if (CheckValue(check, list[i]) is { } failure)
                    {
                        return failure.Under(check.Field.Name, index: i);
                    }
                }
            }
            else if (CheckValue(check, value) is { } failure)
            {
                return failure.Under(check.Field.Name);
            }
        }

        return null;
    }

    private static Failure? CheckValue(FieldCheck check, object? value) => value switch
    {
        null => null,
        Timestamp t => t.Seconds is < MinTimestampSeconds or > MaxTimestampSeconds || t.Nanos is < 0 or >= NanosPerSecond
            ? new Failure(string.Create(
                CultureInfo.InvariantCulture,
                $"timestamp out of range (seconds={t.Seconds}, nanos={t.Nanos}; valid: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z, nanos 0 to 999999999)"))
            : null,
        Duration d => d.Seconds is < -MaxDurationSeconds or > MaxDurationSeconds || d.Nanos is <= -NanosPerSecond or >= NanosPerSecond
            || (d.Seconds > 0 && d.Nanos < 0) || (d.Seconds < 0 && d.Nanos > 0)
            ? new Failure(string.Create(
                CultureInfo.InvariantCulture,
                $"duration out of range (seconds={d.Seconds}, nanos={d.Nanos}; valid: at most {MaxDurationSeconds} seconds either way, nanos within ±999999999 and of the seconds' sign)"))
            : Cap(d),
        IMessage nested => check.Nested is { } nestedPlan ? Check(nested, nestedPlan) : null,
        float f => float.IsFinite(f) ? null : new Failure(string.Create(CultureInfo.InvariantCulture, $"{f} is not a finite number")),
        _ when check.DefinedValues is { } defined => defined.Contains((int)value)
            ? null
            : new Failure(string.Create(CultureInfo.InvariantCulture, $"{(int)value} is not a value of {check.EnumName}")),
        _ => null,
    };

    private static Failure? Cap(Duration d)
    {
        if (d.Seconds is > CapSeconds or < -CapSeconds)
        {
            d.Seconds = d.Seconds > 0 ? CapSeconds : -CapSeconds;
            d.Nanos = 0;
        }

        return null;
    }

    private static MessagePlan PlanOf(MessageDescriptor descriptor)
    {
        if (s_plans.TryGetValue(descriptor, out var plan))
        {
            return plan;
        }

        lock (s_planning)
        {
            if (!s_plans.ContainsKey(descriptor))
            {
                PlanClosure(descriptor);
            }

            return s_plans[descriptor];
        }
    }

    /// <summary>
    /// Plans every message type reachable from <paramref name="root"/> at once (types are recursive: a Failure has a
    /// cause Failure). A type needs checking if a Timestamp, Duration or enum field is reachable from it.
    /// </summary>
    private static void PlanClosure(MessageDescriptor root)
    {
        var reachable = new List<MessageDescriptor>();
        var seen = new HashSet<MessageDescriptor>();
        var pending = new Stack<MessageDescriptor>();
        pending.Push(root);
        while (pending.TryPop(out var type))
        {
            if (s_plans.ContainsKey(type) || !seen.Add(type))
            {
                continue;
            }

            reachable.Add(type);
            foreach (var field in type.Fields.InFieldNumberOrder())
            {
                if (ContainedMessage(field) is { } contained && !IsLeaf(contained))
                {
                    pending.Push(contained);
                }
            }
        }

        // Fixed point: which of the new types can hold a checked value somewhere below.
        var needs = new HashSet<MessageDescriptor>();
        bool Needs(MessageDescriptor type) => needs.Contains(type) || (s_plans.TryGetValue(type, out var known) && known.Checks.Length != 0);
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var type in reachable)
            {
                if (!needs.Contains(type) && type.Fields.InFieldNumberOrder().Any(f => IsChecked(f, Needs)))
                {
                    needs.Add(type);
                    changed = true;
                }
            }
        }

        var plans = reachable.ToDictionary(t => t, t => new MessagePlan());
        MessagePlan PlanFor(MessageDescriptor type) => plans.TryGetValue(type, out var fresh) ? fresh : s_plans[type];
        foreach (var type in reachable)
        {
            plans[type].Checks = type.Fields.InFieldNumberOrder()
                .Where(f => IsChecked(f, Needs))
                .Select(f => ContainedMessage(f) is { } m
                    ? new FieldCheck(f, IsLeaf(m) ? null : PlanFor(m), null, null)
                    : IsFloat(f) ? new FieldCheck(f, null, null, null)
                    : new FieldCheck(f, null, EnumValues(ContainedEnum(f)!), ContainedEnum(f)!.FullName))
                .ToArray();
        }

        foreach (var (type, plan) in plans)
        {
            s_plans[type] = plan;
        }
    }

    private static bool IsChecked(FieldDescriptor field, Func<MessageDescriptor, bool> needs) =>
        ContainedEnum(field) is not null || IsFloat(field) || (ContainedMessage(field) is { } m && (IsLeaf(m) || needs(m)));

    /// <summary>
    /// A float field (a fairness weight, a ramp percentage, a rate): NaN or an infinity means nothing in any of them and
    /// cannot be stored as JSON. (Double fields are checked by the handlers, with Temporal's texts.)
    /// </summary>
    private static bool IsFloat(FieldDescriptor field) => !field.IsMap && field.FieldType == FieldType.Float;

    /// <summary>Timestamp and Duration are checked by value; Any is opaque here.</summary>
    private static bool IsLeaf(MessageDescriptor type) =>
        type.FullName is "google.protobuf.Timestamp" or "google.protobuf.Duration";

    /// <summary>The message type a field holds (for a map, its values'), or null.</summary>
    private static MessageDescriptor? ContainedMessage(FieldDescriptor field)
    {
        var value = field.IsMap ? field.MessageType.FindFieldByNumber(2) : field;
        return value.FieldType == FieldType.Message && value.MessageType.FullName != "google.protobuf.Any" ? value.MessageType : null;
    }

    private static EnumDescriptor? ContainedEnum(FieldDescriptor field)
    {
        var value = field.IsMap ? field.MessageType.FindFieldByNumber(2) : field;
        return value.FieldType == FieldType.Enum ? value.EnumType : null;
    }

    private static FrozenSet<int> EnumValues(EnumDescriptor type) => type.Values.Select(v => v.Number).ToFrozenSet();

    /// <summary>What to check in one message type; shared by every occurrence of the type.</summary>
    private sealed class MessagePlan
    {
        public FieldCheck[] Checks { get; set; } = [];
    }

    /// <summary>One field to check: a Timestamp or Duration (by value), a message to walk, or an enum.</summary>
    private sealed record FieldCheck(FieldDescriptor Field, MessagePlan? Nested, FrozenSet<int>? DefinedValues, string? EnumName);

    /// <summary>A refusal, its field path built only when there is one, innermost segment first.</summary>
    private sealed class Failure(string problem)
    {
        private readonly List<string> _path = [];

        public Failure Under(string field, int? index = null, object? key = null)
        {
            _path.Add(index is { } i
                ? string.Create(CultureInfo.InvariantCulture, $"{field}[{i}]")
                : key is null ? field : string.Create(CultureInfo.InvariantCulture, $"{field}[{ServiceException.Quote(key.ToString(), 100)}]"));
            return this;
        }

        public override string ToString()
        {
            var text = new StringBuilder();
            for (var i = _path.Count - 1; i >= 0; i--)
            {
                text.Append(_path[i]).Append(i > 0 ? "." : ": ");
            }

            return text.Append(problem).ToString();
        }
    }
}
