using System.Diagnostics;
using System.Globalization;
using Temporalio.Api.Cloud.CloudService.V1;
using Temporalio.Api.Cloud.Namespace.V1;
using StartWorkflowExecutionRequest = Temporalio.Api.WorkflowService.V1.StartWorkflowExecutionRequest;
using Temporalio.Client;
using Temporalio.Exceptions;

// Per-namespace rate limits under load (issue 20), against a running dev server that has namespaces `noisy` and
// `quiet`: the noisy namespace is provisioned with --units (via the Cloud Ops API) and flooded with raw starts at
// --factor times its limit; meanwhile the quiet namespace starts workflows at a steady --quiet-rate. Prints the quiet
// namespace's start latency alone and beside the flood, and the noisy namespace's admitted rate against its limit.
var args2 = ParseArgs(args);
var target = args2.GetValueOrDefault("--target") ?? throw new ArgumentException("--target HOST:PORT is required.");
var units = double.Parse(args2.GetValueOrDefault("--units") ?? "0.2", CultureInfo.InvariantCulture);
var factor = double.Parse(args2.GetValueOrDefault("--factor") ?? "10", CultureInfo.InvariantCulture);
var seconds = int.Parse(args2.GetValueOrDefault("--seconds") ?? "30", CultureInfo.InvariantCulture);
var warmup = int.Parse(args2.GetValueOrDefault("--warmup") ?? "10", CultureInfo.InvariantCulture);
var quietRate = double.Parse(args2.GetValueOrDefault("--quiet-rate") ?? "20", CultureInfo.InvariantCulture);
var rounds = int.Parse(args2.GetValueOrDefault("--rounds") ?? "1", CultureInfo.InvariantCulture);
const double ActionsPerUnit = 100; // Bastion's unit (docs/operations.md)

var connection = await TemporalConnection.ConnectAsync(new(target) { RpcRetry = new() { MaxRetries = 0 } });
var current = (await connection.CloudService.GetNamespaceAsync(new GetNamespaceRequest { Namespace = "noisy.local" })).Namespace;
var spec = current.Spec.Clone();
spec.ApiKeyAuth = new ApiKeyAuthSpec { Enabled = true };
spec.CapacitySpec = new CapacitySpec { Provisioned = new CapacitySpec.Types.Provisioned { Value = units } };
await connection.CloudService.UpdateNamespaceAsync(new UpdateNamespaceRequest { Namespace = "noisy.local", Spec = spec, ResourceVersion = current.ResourceVersion });
var limit = units * ActionsPerUnit;
Console.WriteLine(FormattableString.Invariant($"noisy: {units} units = {limit} actions/s, flooded at {factor}x = {limit * factor} starts/s; quiet: {quietRate} starts/s; {seconds} s per phase, {rounds} round(s)"));

var run = Guid.NewGuid().ToString("N")[..6];
using (var stopWarm = new CancellationTokenSource())
{
    // Warm-up, not measured: both paths (admitted and refused) compiled and the flood's burst spent.
    var warmFlood = FloodAsync(connection, "warm" + run, limit * factor, stopWarm.Token);
    await QuietAsync(connection, "warm", run, quietRate, warmup, CancellationToken.None);
    await stopWarm.CancelAsync();
    await warmFlood;
    await Task.Delay(TimeSpan.FromSeconds(3)); // the noisy namespace's bucket refills: the flood below starts from a full burst
}

// Rounds alternate the two phases, so drift (a growing database, a busier machine) falls on both; percentiles are
// taken over the pooled samples of every round (a p99 of one 30 s phase is its sixth-slowest start: it swings).
var alone = (Latencies: new List<double>(), Errors: 0);
var beside = (Latencies: new List<double>(), Errors: 0);
long admitted = 0, refused = 0;
double floodSeconds = 0;
Console.WriteLine("| round | alone p50 / p99 ms | beside the flood p50 / p99 ms | p99 ratio |");
Console.WriteLine("| ---: | ---: | ---: | ---: |");
for (var round = 1; round <= rounds; round++)
{
    var aloneRound = await QuietAsync(connection, $"alone{round}", run, quietRate, seconds, CancellationToken.None);
    using var stopFlood = new CancellationTokenSource();
    var flood = FloodAsync(connection, $"{run}r{round}", limit * factor, stopFlood.Token);
    await Task.Delay(TimeSpan.FromSeconds(3)); // past the noisy namespace's burst (refilled while the quiet one ran alone)
    var besideRound = await QuietAsync(connection, $"beside{round}", run, quietRate, seconds, CancellationToken.None);
    await stopFlood.CancelAsync();
    var (a, r, fs) = await flood;
    (admitted, refused, floodSeconds) = (admitted + a, refused + r, floodSeconds + fs);
    alone = ([.. alone.Latencies, .. aloneRound.Latencies], alone.Errors + aloneRound.Errors);
    beside = ([.. beside.Latencies, .. besideRound.Latencies], beside.Errors + besideRound.Errors);
    Console.WriteLine(FormattableString.Invariant(
        $"| {round} | {Percentile(aloneRound.Latencies, 50):0.0} / {Percentile(aloneRound.Latencies, 99):0.0} | {Percentile(besideRound.Latencies, 50):0.0} / {Percentile(besideRound.Latencies, 99):0.0} | {Percentile(besideRound.Latencies, 99) / Percentile(aloneRound.Latencies, 99):0.00}x |"));
}

Console.WriteLine();
Console.WriteLine($"All {rounds} round(s) pooled:");
Console.WriteLine("| quiet namespace | starts | p50 ms | p99 ms | max ms | errors |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
Report("alone", alone);
Report("beside the flood", beside);
Console.WriteLine(FormattableString.Invariant(
    $"quiet p99 beside the flood / alone: {Percentile(beside.Latencies, 99) / Percentile(alone.Latencies, 99):0.00}x"));
Console.WriteLine(FormattableString.Invariant(
    $"noisy: {admitted} admitted, {refused} refused in {floodSeconds:0.0} s of flood: admitted {admitted / floodSeconds:0.0}/s against a limit of {limit}/s ({(admitted / floodSeconds / limit - 1) * 100:+0.0;-0.0} %; each round's first 2 s of burst included)"));

static void Report(string name, (List<double> Latencies, int Errors) phase) =>
    Console.WriteLine(FormattableString.Invariant(
        $"| {name} | {phase.Latencies.Count} | {Percentile(phase.Latencies, 50):0.0} | {Percentile(phase.Latencies, 99):0.0} | {phase.Latencies.DefaultIfEmpty().Max():0.0} | {phase.Errors} |"));

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToArray();
    return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

// Steady starts at a fixed rate (each on its own task, so a slow one does not delay the next), latency per start.
static async Task<(List<double> Latencies, int Errors)> QuietAsync(TemporalConnection connection, string phase, string run, double rate, int seconds, CancellationToken cancel)
{
    var latencies = new List<double>();
    var errors = 0;
    var pending = new List<Task>();
    var clock = Stopwatch.StartNew();
    var total = (int)(rate * seconds);
    for (var i = 0; i < total; i++)
    {
        var due = TimeSpan.FromSeconds(i / rate);
        if (due > clock.Elapsed)
        {
            await Task.Delay(due - clock.Elapsed, cancel);
        }

        var id = $"quiet-{phase}-{run}-{i}";
        pending.Add(Task.Run(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await connection.WorkflowService.StartWorkflowExecutionAsync(Start("quiet", id));
                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
            catch (RpcException)
            {
                Interlocked.Increment(ref errors);
            }
        }, cancel));
    }

    await Task.WhenAll(pending);
    return (latencies, errors);
}

// Raw starts (no SDK retry) at the given rate from 16 callers until cancelled; counts admitted and refused.
static async Task<(long Admitted, long Refused, double Seconds)> FloodAsync(TemporalConnection connection, string run, double rate, CancellationToken cancel)
{
    long admitted = 0, refused = 0, next = 0;
    var clock = Stopwatch.StartNew();
    var callers = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
    {
        while (!cancel.IsCancellationRequested)
        {
            var n = Interlocked.Increment(ref next);
            var due = TimeSpan.FromSeconds(n / rate);
            if (due > clock.Elapsed)
            {
                try
                {
                    await Task.Delay(due - clock.Elapsed, cancel);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            try
            {
                await connection.WorkflowService.StartWorkflowExecutionAsync(Start("noisy", $"noisy-{run}-{n}"));
                Interlocked.Increment(ref admitted);
            }
            catch (RpcException e) when (e.Code == RpcException.StatusCode.ResourceExhausted)
            {
                Interlocked.Increment(ref refused);
            }
        }
    })).ToArray();
    await Task.WhenAll(callers);
    return (admitted, refused, clock.Elapsed.TotalSeconds);
}

static StartWorkflowExecutionRequest Start(string ns, string id) => new()
{
    Namespace = ns,
    WorkflowId = id,
    WorkflowType = new() { Name = "Idle" },
    TaskQueue = new() { Name = "nowhere" },
    RequestId = Guid.NewGuid().ToString(),
};

static Dictionary<string, string> ParseArgs(string[] args)
{
    var known = new HashSet<string>(StringComparer.Ordinal) { "--target", "--units", "--factor", "--seconds", "--quiet-rate", "--warmup", "--rounds" };
    var parsed = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i < args.Length; i += 2)
    {
        if (!known.Contains(args[i]) || i + 1 >= args.Length)
        {
            throw new ArgumentException($"{args[i]}: unknown option or missing value (known: {string.Join(", ", known)}).");
        }

        parsed[args[i]] = args[i + 1];
    }

    return parsed;
}
