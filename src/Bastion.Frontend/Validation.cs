using Bastion.Engine.Errors;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Bastion.Frontend;

/// <summary>Request checks shared by the handlers; each failure names the field and what is wrong with it.</summary>
internal static class Validation
{
    public const int MaxIdLength = 1000;

    public static string RequireId(string? value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw ServiceException.InvalidArgument($"{field} is not set on request.");
        }

        if (value.Length > MaxIdLength)
        {
            throw ServiceException.InvalidArgument($"{field} is {value.Length} characters long; the limit is {MaxIdLength}.");
        }

        return value;
    }

    public static void RequireSize(IMessage? payload, string field, int limit)
    {
        var size = payload?.CalculateSize() ?? 0;
        if (size > limit)
        {
            throw ServiceException.InvalidArgument($"{field} is {size} bytes, over the {limit}-byte payload limit.");
        }
    }

    public static void RequireNonNegative(Duration? value, string field)
    {
        if (value != null && (value.Seconds < 0 || value.Nanos < 0))
        {
            throw ServiceException.InvalidArgument($"{field} cannot be negative.");
        }
    }

    /// <summary>How long a long poll may wait: short of the caller's deadline, never beyond <paramref name="max"/>.</summary>
    public static TimeSpan LongPollBudget(ServerCallContext context, DateTime now, TimeSpan max)
    {
        var untilDeadline = context.Deadline == DateTime.MaxValue ? max : context.Deadline.ToUniversalTime() - now - TimeSpan.FromSeconds(1);
        var budget = untilDeadline < max ? untilDeadline : max;
        return budget < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : budget;
    }
}
