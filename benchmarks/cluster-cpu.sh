#!/bin/bash
# The cluster's price (issue 17, docs/benchmarks.md): three load drivers (bastion-loadtest, one-activity workflows,
# concurrency 16), each through its own node of a 3-node cluster, or all through one node; prints the total server CPU
# per 1000 workflows and, from the nodes' /metrics, the calls received, forwarded and run where they arrived.
# Needs Release builds of src/Bastion.Cli and benchmarks/Bastion.LoadTest, and PostgreSQL (BASTION_TEST_DATABASE_URL,
# or one is started: .ci/postgres.sh). Extra start-dev options: BASTION_EXTRA; extra driver options (e.g. --eager-start):
# LT_EXTRA; warm-up rounds of 300 per driver: WARM_ROUNDS (4).
# usage: benchmarks/cluster-cpu.sh NODES(1|3) [WORKFLOWS-PER-DRIVER]
N=$1; W=${2:-600}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" && . .ci/postgres.sh >/dev/null; [ -z "$BASTION_TEST_DATABASE_URL" ] && pg_start >/dev/null 2>&1
BASE=$BASTION_TEST_DATABASE_URL; DB=cpu_$$_$RANDOM
psql "$BASE" -qc "CREATE DATABASE $DB" >/dev/null
URL=${BASE%/*}/$DB
B=$ROOT/src/Bastion.Cli/bin/Release/net10.0/bastion.dll; LT=$ROOT/benchmarks/Bastion.LoadTest/bin/Release/net10.0/bastion-loadtest.dll
D=$(mktemp -d /tmp/ccpu.XXXX); PIDS=()
for i in $(seq 1 $N); do
  extra=(); [ $N -gt 1 ] && extra=(--cluster-address 127.0.0.1:76$i$i --node-name n$i)
  dotnet $B server start-dev --headless --port 760$i --log-level warn --database-url "$URL" --master-key-file $D/mk --shards 8 --metrics-port 770$i "${extra[@]}" ${BASTION_EXTRA:-} > $D/n$i.log 2>&1 &
  PIDS+=($!); sleep 5
done
sleep 8
cpu() { local t=0; for p in "${PIDS[@]}"; do set -- $(cut -d' ' -f14,15 /proc/$p/stat); t=$((t+$1+$2)); done; echo $t; }
# warm up: each node's JIT (tiered compilation) settles only after about 1200 workflows per driver; a shorter warm-up
# measures three processes compiling (the first measurements did: the compiler thread was half the nodes' CPU)
for r in $(seq 1 ${WARM_ROUNDS:-4}); do
  L=(); for i in 1 2 3; do n=$(( N==1 ? 1 : i )); dotnet $LT --target 127.0.0.1:760$n --scenario activity --workflows 300 --warmup 1 --concurrency 16 ${LT_EXTRA:-} >/dev/null 2>&1 & L+=($!); done; wait "${L[@]}"
done
# sum of a metric's samples over the nodes (label filter as a regex on the line)
metric() { local s=0; for i in $(seq 1 $N); do v=$(curl -s 127.0.0.1:770$i/metrics | grep -E "^$1" | awk '{s+=$NF} END {print s+0}'); s=$(echo "$s+$v" | bc); done; echo $s; }
f0=$(metric 'bastion_cluster_routed_calls[^ ]*route="forwarded"'); l0=$(metric 'bastion_cluster_routed_calls[^ ]*route="local"'); r0=$(metric 'service_requests\{')
c0=$(cpu); t0=$(date +%s.%N)
L=(); for i in 1 2 3; do n=$(( N==1 ? 1 : i )); dotnet $LT --target 127.0.0.1:760$n --scenario activity --workflows $W --warmup 0 --concurrency 16 ${LT_EXTRA:-} > $D/lt$i.txt 2>&1 & L+=($!); done; wait "${L[@]}"; grep -h "^| target" $D/lt*.txt
c1=$(cpu); t1=$(date +%s.%N)
f1=$(metric 'bastion_cluster_routed_calls[^ ]*route="forwarded"'); l1=$(metric 'bastion_cluster_routed_calls[^ ]*route="local"'); r1=$(metric 'service_requests\{')
echo "calls received $(echo "$r1-$r0" | bc); routed: forwarded $(echo "$f1-$f0" | bc), local $(echo "$l1-$l0" | bc)"
echo "nodes=$N total server CPU per 1000 workflows: $(echo "scale=2; ($c1-$c0)/100*1000/(3*$W)" | bc) s; wall $(echo "$t1-$t0" | bc) s"
for p in "${PIDS[@]}"; do kill -TERM $p; done; sleep 4; rm -rf $D; pg_stop >/dev/null 2>&1
