using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Bastion.Engine.Errors;
using Bastion.Engine.Namespaces;
using Bastion.Engine.Visibility;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Schedule.V1;
using Temporalio.Api.Workflow.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Engine.Schedules;

internal sealed partial class ScheduleEngine
{
    private const int MaxMatchingTimes = 1000;

    /// <summary>
    /// Creates a schedule (its spec stored in canonical form) and applies its initial patch. The same request id
    /// again is answered as the first time; another request for an existing id is ALREADY_EXISTS.
    /// </summary>
    public Task<CreateScheduleResponse> CreateAsync(string namespaceId, CreateScheduleRequest request) =>
        WithLockAsync(namespaceId, request.ScheduleId, async () =>
        {
            if (await LoadAsync(namespaceId, request.ScheduleId).ConfigureAwait(false) is { } existing)
            {
                return existing.State.CreateRequestId == request.RequestId
                    ? new CreateScheduleResponse { ConflictToken = Token(existing.State) }
                    : throw AlreadyExists(request.ScheduleId);
            }

            var now = Now;
            var schedule = request.Schedule.Clone();
            schedule.Spec = ScheduleSpecCompiler.Compile(schedule.Spec).Canonical;
            schedule.State ??= new Temporalio.Api.Schedule.V1.ScheduleState();
            schedule.Policies ??= new SchedulePolicies();
            var state = new ScheduleState
            {
                ScheduleId = request.ScheduleId,
                CreateRequestId = request.RequestId,
                LastProcessed = now,
                Described = new DescribeScheduleResponse
                {
                    Schedule = schedule,
                    Info = new ScheduleInfo { CreateTime = Timestamp.FromDateTime(now) },
                    Memo = request.Memo,
                    SearchAttributes = request.SearchAttributes,
                },
            };
            var version = await SaveAsync(namespaceId, state, 0).ConfigureAwait(false);
            if (request.InitialPatch is { } patch)
            {
                ApplyPatch(state, patch, now);
            }

            await ProcessAsync(namespaceId, state, version).ConfigureAwait(false);
            return new CreateScheduleResponse { ConflictToken = Token(state) };
        });

    public async Task<DescribeScheduleResponse> DescribeAsync(string namespaceId, string scheduleId)
    {
        var (state, _) = await RequireAsync(namespaceId, scheduleId).ConfigureAwait(false);
        var described = state.Described.Clone();
        described.ConflictToken = Token(state);
        described.Schedule.Spec = ScheduleSpecCompiler.WrittenOut(described.Schedule.Spec);
        described.Info.FutureActionTimes.Clear();
        described.Info.FutureActionTimes.Add(FutureActionTimes(state, FutureActionTimesDescribed));
        return described;
    }

    /// <summary>Replaces the schedule (spec, action, policies, state); a conflict token that is not the current one is FAILED_PRECONDITION.</summary>
    public Task<UpdateScheduleResponse> UpdateAsync(string namespaceId, UpdateScheduleRequest request) =>
        WithLockAsync(namespaceId, request.ScheduleId, async () =>
        {
            var (state, version) = await RequireAsync(namespaceId, request.ScheduleId).ConfigureAwait(false);
            if (!request.ConflictToken.IsEmpty && !request.ConflictToken.Equals(Token(state)))
            {
                throw new ServiceException(ErrorKind.FailedPrecondition, $"Schedule {ServiceException.Quote(request.ScheduleId)} changed since the conflict token was read.");
            }

            var now = Now;
            var schedule = request.Schedule.Clone();
            schedule.Spec = ScheduleSpecCompiler.Compile(schedule.Spec).Canonical;
            schedule.State ??= new Temporalio.Api.Schedule.V1.ScheduleState();
            schedule.Policies ??= new SchedulePolicies();
            state.Described.Schedule = schedule;
            state.Described.Info.UpdateTime = Timestamp.FromDateTime(now);
            if (request.SearchAttributes is not null)
            {
                state.Described.SearchAttributes = request.SearchAttributes;
            }

            if (request.Memo is not null)
            {
                state.Described.Memo = request.Memo;
            }

            // The new spec applies from now on: no catching up on times the old spec did not have.
            state.LastProcessed = Max(state.LastProcessed, now);
            state.ConflictToken++;
            await ProcessAsync(namespaceId, state, version).ConfigureAwait(false);
            return new UpdateScheduleResponse();
        });

    /// <summary>Trigger immediately, backfill, pause or unpause.</summary>
    public Task<PatchScheduleResponse> PatchAsync(string namespaceId, PatchScheduleRequest request) =>
        WithLockAsync(namespaceId, request.ScheduleId, async () =>
        {
            var (state, version) = await RequireAsync(namespaceId, request.ScheduleId).ConfigureAwait(false);
            ApplyPatch(state, request.Patch, Now); // not an update: Temporal leaves update_time as it is
            await ProcessAsync(namespaceId, state, version).ConfigureAwait(false);
            return new PatchScheduleResponse();
        });

    private static void ApplyPatch(ScheduleState state, SchedulePatch patch, DateTime now)
    {
        var schedule = state.Described.Schedule;
        if (patch.TriggerImmediately is { } trigger)
        {
            var policy = trigger.OverlapPolicy == ScheduleOverlapPolicy.Unspecified ? OverlapPolicy(schedule) : trigger.OverlapPolicy;
            state.Buffer.Add(new BufferedStart(now, now, policy, Manual: true));
        }

        var spec = ScheduleSpecCompiler.Compile(schedule.Spec);
        foreach (var backfill in patch.BackfillRequest)
        {
            var policy = backfill.OverlapPolicy == ScheduleOverlapPolicy.Unspecified ? OverlapPolicy(schedule) : backfill.OverlapPolicy;
            foreach (var nominal in spec.NominalTimes(backfill.StartTime.ToDateTime(), backfill.EndTime.ToDateTime(), MaxMatchingTimes))
            {
                state.Buffer.Add(new BufferedStart(nominal, nominal, policy, Manual: true));
            }
        }

        if (!string.IsNullOrEmpty(patch.Pause))
        {
            schedule.State.Paused = true;
            schedule.State.Notes = patch.Pause;
        }

        if (!string.IsNullOrEmpty(patch.Unpause))
        {
            schedule.State.Paused = false;
            schedule.State.Notes = patch.Unpause;
        }
    }

    /// <summary>Deletes the schedule; the workflows it started keep running.</summary>
    public Task<DeleteScheduleResponse> DeleteAsync(string namespaceId, string scheduleId) =>
        WithLockAsync(namespaceId, scheduleId, async () =>
        {
            var (state, version) = await RequireAsync(namespaceId, scheduleId).ConfigureAwait(false);
            await SaveAsync(namespaceId, state, version, deletes: true).ConfigureAwait(false);
            Unwake(namespaceId, scheduleId);
            return new DeleteScheduleResponse();
        });

    /// <summary>The spec's action times (with jitter) in [start, end], at most 1000.</summary>
    public async Task<ListScheduleMatchingTimesResponse> MatchingTimesAsync(string namespaceId, ListScheduleMatchingTimesRequest request)
    {
        var (state, _) = await RequireAsync(namespaceId, request.ScheduleId).ConfigureAwait(false);
        var spec = ScheduleSpecCompiler.Compile(state.Described.Schedule.Spec);
        var response = new ListScheduleMatchingTimesResponse();
        var after = CompiledScheduleSpec.JustBefore(request.StartTime.ToDateTime());
        var end = request.EndTime.ToDateTime();
        while (response.StartTime.Count < MaxMatchingTimes && spec.GetNextTime(state.ScheduleId, after) is { } next && next.Next <= end)
        {
            response.StartTime.Add(Timestamp.FromDateTime(next.Next));
            after = next.Nominal;
        }

        return response;
    }

    /// <summary>
    /// Schedules of the namespace matching the query (the list filter language on the schedule's search attributes,
    /// with <c>ScheduleId</c> for its id), ordered by id; the page token is the last id returned.
    /// </summary>
    public async Task<ListSchedulesResponse> ListAsync(NamespaceEntry ns, string? query, int pageSize, ByteString pageToken)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var after = pageToken.IsEmpty ? null : pageToken.ToStringUtf8();
        var size = pageSize <= 0 || pageSize > VisibilityReader.MaxPageSize ? VisibilityReader.MaxPageSize : pageSize;
        var matching = (await MatchingAsync(ns, query).ConfigureAwait(false))
            .Where(s => after is null || string.CompareOrdinal(s.ScheduleId, after) > 0)
            .Take(size + 1)
            .ToList();
        var response = new ListSchedulesResponse();
        foreach (var s in matching.Take(size))
        {
            var schedule = s.Described.Schedule;
            response.Schedules.Add(new ScheduleListEntry
            {
                ScheduleId = s.ScheduleId,
                Memo = s.Described.Memo,
                SearchAttributes = s.Described.SearchAttributes,
                Info = new ScheduleListInfo
                {
                    Spec = ScheduleSpecCompiler.WrittenOut(schedule.Spec),
                    WorkflowType = schedule.Action?.StartWorkflow?.WorkflowType,
                    Notes = schedule.State.Notes,
                    Paused = schedule.State.Paused,
                    RecentActions = { s.Described.Info.RecentActions },
                    FutureActionTimes = { FutureActionTimes(s, FutureActionTimesListed) },
                },
            });
        }

        if (matching.Count > size)
        {
            response.NextPageToken = ByteString.CopyFromUtf8(matching[size - 1].ScheduleId);
        }

        return response;
    }

    public async Task<CountSchedulesResponse> CountAsync(NamespaceEntry ns, string? query) =>
        new() { Count = (await MatchingAsync(ns, query).ConfigureAwait(false)).Count };

    private async Task<List<ScheduleState>> MatchingAsync(NamespaceEntry ns, string? query)
    {
        // Temporal rewrites ScheduleId to the scheduler workflow's id; here it is the row's id, read as WorkflowId.
        var bound = VisibilityReader.Bind(ns, string.IsNullOrWhiteSpace(query) ? null : ScheduleIdName().Replace(query, "WorkflowId"), forCount: false);
        var records = await _store.ListSchedulesAsync(ns.Id, CancellationToken.None).ConfigureAwait(false);
        return [.. records
            .Select(Decode)
            .Where(s => VisibilityProtection.Matches(bound.Filter, AsExecutionInfo(s)))
            .OrderBy(s => s.ScheduleId, StringComparer.Ordinal)];
    }

    [GeneratedRegex(@"\bScheduleId\b(?=(?:[^']*'[^']*')*[^']*$)")]
    private static partial Regex ScheduleIdName();

    /// <summary>A schedule seen as a visibility row, so the list filter evaluates on it.</summary>
    private static WorkflowExecutionInfo AsExecutionInfo(ScheduleState s) => new()
    {
        Execution = new WorkflowExecution { WorkflowId = s.ScheduleId, RunId = string.Empty },
        Type = new WorkflowType { Name = s.Described.Schedule.Action?.StartWorkflow?.WorkflowType?.Name ?? string.Empty },
        StartTime = s.Described.Info.CreateTime,
        ExecutionTime = s.Described.Info.CreateTime,
        Status = WorkflowExecutionStatus.Running,
        SearchAttributes = s.Described.SearchAttributes,
        TaskQueue = s.Described.Schedule.Action?.StartWorkflow?.TaskQueue?.Name ?? string.Empty,
    };

    private static ByteString Token(ScheduleState state)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, state.ConflictToken);
        return ByteString.CopyFrom(bytes);
    }
}
