using Bastion.Engine.Nexus;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Callback.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;

namespace Bastion.Engine.History;

/// <summary>
/// A run's completion callbacks as describe shows them (Temporal's <c>CallbackInfo</c>): the callback, when it was
/// attached, and its state — STANDBY while the run is open, SCHEDULED once its delivery is due, SUCCEEDED once delivered.
/// </summary>
internal static class NexusCallbackDescriptions
{
    public static IEnumerable<CallbackInfo> Of(WorkflowState s)
    {
        for (var i = 0; i < s.NexusCallbacks.Count; i++)
        {
            var delivered = s.DeliveredNexusCallbacks.Contains(i);
            yield return new CallbackInfo
            {
                Callback = SystemCallback(s.NexusCallbacks[i], s.NexusCallbackOperationTokens.ElementAtOrDefault(i)),
                RegistrationTime = Timestamp.FromDateTime(i < s.NexusCallbackTimes.Count ? s.NexusCallbackTimes[i] : s.StartTime),
                State = delivered ? CallbackState.Succeeded : s.IsOpen ? CallbackState.Standby : CallbackState.Scheduled,
                Attempt = delivered ? 1 : 0,
            };
        }
    }

    /// <summary>The callback as the handler gave it: the server's own URL with the caller's token and the operation token.</summary>
    private static Callback SystemCallback(string token, string? operationToken)
    {
        var nexus = new Callback.Types.Nexus { Url = NexusCallbackToken.SystemUrl, Header = { [NexusCallbackToken.Header] = token } };
        if (!string.IsNullOrEmpty(operationToken))
        {
            nexus.Header[NexusCallbackToken.OperationTokenHeader] = operationToken;
        }

        return new Callback { Nexus = nexus };
    }
}
