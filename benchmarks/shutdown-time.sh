#!/bin/bash
# Shutdown time under load (issue 20, docs/benchmarks.md): start-dev on a SQLite file, one-activity workflows driven at
# concurrency 50 through --target, SIGTERM after 8 s; prints the time from SIGTERM to exit and the exit code, 3 trials.
# Needs Release builds of src/Bastion.Cli and benchmarks/Bastion.LoadTest.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/src/Bastion.Cli/bin/Release/net10.0/bastion.dll; LT=$ROOT/benchmarks/Bastion.LoadTest/bin/Release/net10.0/bastion-loadtest.dll
for t in 1 2 3; do
  D=$(mktemp -d /tmp/sd.XXXX)
  dotnet $B server start-dev --headless --port 7395 --db-filename $D/b.db --log-level warn > $D/server.log 2>&1 & S=$!
  sleep 5
  dotnet $LT --target 127.0.0.1:7395 --scenario activity --workflows 100000 --warmup 1 --concurrency 50 > $D/lt.log 2>&1 & L=$!
  sleep 8
  t0=$(date +%s.%N); kill -TERM $S; wait $S; rc=$?; t1=$(date +%s.%N)
  echo "trial $t: exit $rc after $(echo "$t1-$t0" | bc) s; load $(cut -d' ' -f1 /proc/loadavg)"
  kill $L 2>/dev/null; wait $L 2>/dev/null; rm -rf $D
done
