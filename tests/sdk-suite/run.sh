#!/usr/bin/env bash
# The official .NET SDK's own integration tests (temporalio/sdk-dotnet, tests/Temporalio.Tests) against Bastion
# (docs/compatibility.md). The tests are never part of this repository: this script takes them from a git directory of
# sdk-dotnet at a fixed commit, into a work directory outside the checkout, and builds them against the NuGet
# Temporalio package (the SDK's native bridge cannot be built here), then runs them against a Bastion server it starts.
#
#   tests/sdk-suite/run.sh [BASTION_CHECKOUT (this one)]
#
# Environment:
#   SDK_SOURCE     a git directory of temporalio/sdk-dotnet (default: the search tools' mirror, fetched with
#                  `fetch github:temporalio/sdk-dotnet`)
#   SDK_COMMIT     the test source's commit (default 68e4eaef, the one docs/compatibility.md's counts are of)
#   WORK           where the tests are built (default /tmp/bastion-sdk-suite; reused when present)
#   OUT            where the results go (default $WORK/out: results-N.trx and test-N.log per round, server logs, summary.txt)
#   EXTRA_FILTER   appended to the test filter, e.g. '&FullyQualifiedName~Nexus'
#   HANG_TIMEOUT   dotnet test's --blame-hang-timeout (default 5m)
#   CLUSTER=3      three start-dev nodes on a throwaway PostgreSQL (.ci/postgres.sh), the tests through node 1
#   POSTGRES=1     one start-dev server on a throwaway PostgreSQL (.ci/postgres.sh) instead of in memory
#   SQLITE=1       one start-dev server on a SQLite file in OUT instead of in memory
#   SKIP_BASTION_BUILD=1  use the checkout's Release build as it is
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "${SQLITE:-0}" = 1 ] && { [ "${POSTGRES:-0}" = 1 ] || [ "${CLUSTER:-1}" = 3 ]; }; then
  echo "SQLITE=1 runs one server on a SQLite file; it does not go with POSTGRES=1 or CLUSTER=3." >&2; exit 2
fi
BASTION=$(cd "${1:-$HERE/../..}" && pwd)
SDK_SOURCE=${SDK_SOURCE:-/work/.mirror/temporalio+sdk-dotnet/repo}
SDK_COMMIT=${SDK_COMMIT:-68e4eaef}
WORK=${WORK:-/tmp/bastion-sdk-suite}
OUT=${OUT:-$WORK/out}
TEMPORALIO_VERSION=1.22.0
mkdir -p "$WORK" "$OUT"
T=$WORK/tests/Temporalio.Tests

if [ ! -f "$T/.prepared" ]; then
  [ -d "$SDK_SOURCE" ] || { echo "No sdk-dotnet git directory at $SDK_SOURCE (set SDK_SOURCE)." >&2; exit 2; }
  rm -rf "$WORK/tests"
  git --git-dir="$SDK_SOURCE" archive "$SDK_COMMIT" tests/Temporalio.Tests tests/Directory.Build.props | tar -x -C "$WORK" || exit 2
  # The extensions whose packages this machine's NuGet registry does not serve are left out (Hosting stays).
  rm -rf "$T/Extensions/Aws" "$T/Extensions/Gcp" "$T/Extensions/OpenTelemetry" "$T/Extensions/DiagnosticSource" "$T/packages.lock.json"
  cat > "$WORK/Directory.Build.props" <<'EOF'
<Project>
  <PropertyGroup>
    <Nullable>enable</Nullable>
    <TreatWarningsAsErrors>false</TreatWarningsAsErrors>
    <NoWarn>$(NoWarn);CS1591;NU1603;NU1608;NU1701</NoWarn>
  </PropertyGroup>
</Project>
EOF
  cat > "$WORK/Directory.Packages.props" <<EOF
<Project>
  <PropertyGroup><ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally></PropertyGroup>
  <ItemGroup>
    <PackageVersion Include="Temporalio" Version="$TEMPORALIO_VERSION" />
    <PackageVersion Include="Temporalio.Extensions.Hosting" Version="$TEMPORALIO_VERSION" />
    <PackageVersion Include="Microsoft.Extensions.Hosting" Version="8.0.1" />
    <PackageVersion Include="Microsoft.Extensions.Logging.Console" Version="10.0.10" />
    <PackageVersion Include="Microsoft.NET.Test.Sdk" Version="18.11.0" />
    <PackageVersion Include="xunit" Version="2.9.3" />
    <PackageVersion Include="xunit.runner.visualstudio" Version="3.1.5" />
    <PackageVersion Include="Xunit.SkippableFact" Version="1.5.85" />
  </ItemGroup>
</Project>
EOF
  echo '{ "sdk": { "version": "10.0.100", "rollForward": "latestMajor" } }' > "$WORK/global.json"
  python3 - "$T" <<'EOF'
import pathlib, re, sys
t = pathlib.Path(sys.argv[1])
proj = t / 'Temporalio.Tests.csproj'
s = proj.read_text()
s = re.sub(r'\s*<ProjectReference Include="[^"]*" />', '', s)
for drop in ('MartinCostello.Logging.XUnit', 'OpenTelemetry.Exporter.InMemory', 'xunit.console'):
    s = s.replace(f'<PackageReference Include="{drop}" />', '')
s = s.replace('<PackageReference Include="xunit" />',
              '<PackageReference Include="xunit" />\n    <PackageReference Include="Temporalio" />\n    <PackageReference Include="Temporalio.Extensions.Hosting" />')
proj.write_text(s)
# Run by dotnet test only: the in-process runner (xunit.console) is not served here, nor the xunit logger.
(t / 'Program.cs').write_text('namespace Temporalio.Tests;\n\npublic static class Program\n{\n'
    '    internal static bool InProc => false;\n\n    internal static bool Verbose => false;\n\n'
    '    public static int Main(string[] args) => args.Length > 0 && args[0] == "cloud-namespace" ? CloudNamespaceCommand.RunAsync(args[1..]).GetAwaiter().GetResult() : 0;\n}\n')
# The test source is newer than the 1.22.0 package: its standalone-activity tests use two names the package spells
# otherwise (ActivityExecution.ScheduleTime, StartActivityOptions.Summary, ActivityExecutionDescription.GetSummaryAsync).
activity = t / 'Client' / 'TemporalClientActivityTests.cs'
activity.write_text(activity.read_text().replace('.ScheduledTime', '.ScheduleTime').replace('StaticSummary =', 'Summary =')
                    .replace('GetStaticSummaryAsync', 'GetSummaryAsync'))
# The xunit logger package (MartinCostello.Logging.XUnit) is not served here: a provider of the same effect, writing to
# the test's output (tests that capture logs ask the underlying logger whether a level is enabled).
base = t / 'TestBase.cs'
base.write_text(base.read_text().replace('builder.AddXUnit(output)', 'builder.AddProvider(new OutputLoggerProvider(output))'))
(t / 'OutputLoggerProvider.cs').write_text('''namespace Temporalio.Tests;

using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

internal sealed class OutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new OutputLogger(output, categoryName);

    public void Dispose()
    {
    }

    private sealed class OutputLogger(ITestOutputHelper output, string category) : ILogger
    {
        // Not null: the tests' capturing logger disposes the underlying scope it is given.
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => NoScope.Instance;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                output.WriteLine($"[{logLevel}] {category}: {formatter(state, exception)} {exception}");
            }
            catch (InvalidOperationException)
            {
                // the test has ended
            }
        }
    }

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();

        public void Dispose()
        {
        }
    }
}
''')
EOF
  touch "$T/.prepared"
fi

( cd "$WORK" && dotnet build "$T/Temporalio.Tests.csproj" -c Release -nologo -v q ) > "$OUT/build.log" 2>&1 \
  || { tail -20 "$OUT/build.log"; echo "The test source did not build (above)." >&2; exit 2; }

if [ "${SKIP_BASTION_BUILD:-0}" != 1 ]; then
  (cd "$BASTION" && dotnet build src/Bastion.Cli -c Release -p:BastionUi=false -nologo -v q) > "$OUT/bastion-build.log" 2>&1 || { cat "$OUT/bastion-build.log"; exit 2; }
fi
B=$BASTION/src/Bastion.Cli/bin/Release/net10.0/bastion.dll
PORT=${PORT:-27233}
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${OWN_PG:-}" ] && pg_stop >/dev/null 2>&1; }
trap cleanup EXIT
store=() # where the server keeps its state: in memory unless one of the modes below says
if [ "${CLUSTER:-1}" = 3 ] || [ "${POSTGRES:-0}" = 1 ]; then
  cd "$BASTION" && . .ci/postgres.sh >/dev/null; OWN_PG=; [ -z "${BASTION_TEST_DATABASE_URL:-}" ] && { pg_start >/dev/null 2>&1; OWN_PG=1; }
  DB=sdk_$$_$RANDOM; psql "$BASTION_TEST_DATABASE_URL" -qc "CREATE DATABASE $DB" >/dev/null
  head -c 32 /dev/urandom | base64 > "$OUT/master-key"
  store=(--database-url "${BASTION_TEST_DATABASE_URL%/*}/$DB" --master-key-file "$OUT/master-key")
elif [ "${SQLITE:-0}" = 1 ]; then
  rm -f "$OUT"/bastion.db*
  store=(--db-filename "$OUT/bastion.db")
fi
if [ "${CLUSTER:-1}" = 3 ]; then
  for i in 1 2 3; do
    dotnet "$B" server start-dev --headless --port $((PORT + i - 1)) "${store[@]}" \
      --cluster-address 127.0.0.1:$((PORT + 10 + i)) --node-name n$i --log-level warn > "$OUT/server-n$i.log" 2>&1 &
    PIDS+=($!); sleep 3
  done
else
  dotnet "$B" server start-dev --headless --port "$PORT" "${store[@]}" --log-level warn > "$OUT/server.log" 2>&1 &
  PIDS+=($!)
fi
# Ready when every server printed its banner; one that stopped (its port taken by another process, say) ends the run
# rather than leaving the tests to whatever answers on that port.
for _ in $(seq 1 120); do
  ready=1
  for i in "${!PIDS[@]}"; do
    log=$(ls "$OUT"/server*.log | sed -n "$((i + 1))p")
    kill -0 "${PIDS[$i]}" 2>/dev/null || { cat "$log" >&2; echo "A Bastion server did not start (above)." >&2; exit 2; }
    grep -q "Press Ctrl+C" "$log" || ready=0
  done
  [ "$ready" = 1 ] && break; sleep 1
done

# A hang ends the whole `dotnet test` run (the blame collector kills the test host): the tests it left unrun run in a
# round of their own, the one that hung (not completed in the blame sequence) counted as failed.
rm -f "$OUT"/results-*.trx "$OUT"/test-*.log "$OUT/hung.txt"
exclude=""
for round in 1 2 3 4 5 6; do
  rm -rf "$T/TestResults"
  (cd "$WORK" && TEMPORAL_TEST_CLIENT_TARGET_HOST=127.0.0.1:$PORT TEMPORAL_TEST_CLIENT_NAMESPACE=default \
    dotnet test "$T/Temporalio.Tests.csproj" -c Release --no-build \
    --filter "CloudTestExclusionReason!=RequiresLocalServer${EXTRA_FILTER:-}$exclude" --blame-hang-timeout "${HANG_TIMEOUT:-5m}" \
    --logger "trx;LogFileName=$OUT/results-$round.trx") > "$OUT/test-$round.log" 2>&1
  sequence=$(ls "$T"/TestResults/*/Sequence_*.xml 2>/dev/null | head -1)
  grep -q "test run was aborted" "$OUT/test-$round.log" && [ -n "$sequence" ] || break
  exclude=$(python3 - "$OUT" "$sequence" <<'EOF'
import glob, re, sys, xml.etree.ElementTree as ET
ns = {'t': 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010'}
out, sequence = sys.argv[1], sys.argv[2]
method = lambda name: re.sub(r'\(.*', '', name)
done = set()
for trx in glob.glob(out + '/results-*.trx'):
    done |= {method(r.get('testName')) for r in ET.parse(trx).getroot().findall('.//t:UnitTestResult', ns)}
with open(out + '/hung.txt', 'a') as f:
    for t in ET.parse(sequence).getroot().findall('Test'):
        if t.get('Completed') == 'False':
            f.write(t.get('Name') + '\n')
hung = {method(line.strip()) for line in open(out + '/hung.txt') if line.strip()}
print(''.join(f'&FullyQualifiedName!={m}' for m in sorted(done | hung)))
EOF
)
done
cat "$OUT"/test-*.log > "$OUT/test.log"
python3 - "$OUT" <<'EOF' | tee "$OUT/summary.txt"
import glob, sys, xml.etree.ElementTree as ET
ns = {'t': 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010'}
out = sys.argv[1]
by = {}
for trx in sorted(glob.glob(out + '/results-*.trx')):
    for r in ET.parse(trx).getroot().findall('.//t:UnitTestResult', ns):
        by.setdefault(r.get('outcome'), []).append(r.get('testName'))
try:
    hung = [line.strip() for line in open(out + '/hung.txt') if line.strip()]
except FileNotFoundError:
    hung = []
failed = by.get('Failed', []) + [name + ' (hung)' for name in hung]
total = sum(len(v) for v in by.values()) + len(hung)
print(f"{total} tests, {len(by.get('Passed', []))} passed, {len(failed)} failed, {len(by.get('NotExecuted', []))} skipped")
for name in sorted(failed):
    print('  failed:', name)
EOF
