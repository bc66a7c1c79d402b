#!/usr/bin/env bash
# A throughput regression guard cheap enough to run on every change (about three minutes on 2 cores): the same Release
# binary durable (SQLite file, encryption and audit on: start-dev's defaults) and in memory (both off), alternating,
# short runs; prints each run and the durable/in-memory ratio per scenario. A change that halves durable throughput
# shows as a ratio far below the one recorded in docs/benchmarks.md. It prints numbers; it asserts nothing.
#
#   benchmarks/regression-guard.sh [rounds (default 2)] [workflows per run (default 800)]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
workflows=${2:-800}
dotnet build -c Release src/Bastion.Cli -p:BastionUi=false -v q -nologo >/dev/null
dotnet build -c Release benchmarks/Bastion.LoadTest -v q -nologo >/dev/null
lt=benchmarks/Bastion.LoadTest/bin/Release/net10.0/bastion-loadtest.dll
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for round in $(seq 1 "$rounds"); do
  for mode in file memory; do
    args=(--mode "$mode" --workflows "$workflows" --warmup 400)
    [ "$mode" = memory ] && args+=(--encryption off --server-arg --audit-log --server-arg off)
    echo "round $round, $mode (load $(cut -d' ' -f1 /proc/loadavg))"
    dotnet "$lt" "${args[@]}" | grep -E '^\| (file|memory)' | tee -a "$out"
  done
done
# Columns: | mode | scenario | completed | concurrency | workflows/s | ...
awk -F'|' '
  { mode = $2; gsub(/ /, "", mode); sub(/\+enc/, "", mode); scen = $3; gsub(/ /, "", scen); sum[mode, scen] += $6; n[mode, scen]++ }
  END {
    split("activity noactivity", scens, " ")
    for (i = 1; i <= 2; i++) {
      s = scens[i]
      if (n["file", s] && n["memory", s]) {
        f = sum["file", s] / n["file", s]; m = sum["memory", s] / n["memory", s]
        printf "%-10s durable %7.1f wf/s, in memory %7.1f wf/s, ratio %.2f\n", s, f, m, f / m
      }
    }
  }' "$out"
