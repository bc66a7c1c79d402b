#!/bin/bash
# Fail-over under load (issue 17, docs/benchmarks.md): three nodes on one PostgreSQL; a load driver (bastion-loadtest,
# one-activity workflows, concurrency 16, runs of 400 one after another) through node 1 — the address a load balancer
# would keep giving it — while nodes 2 and 3 are killed with SIGKILL in turn, each started again once its shards have
# moved and the cluster has settled. Per kill: the shards the killed node held, the time from the kill until every one
# of them was taken by a live node (no row of `shards` names the dead node) and until each had its first commit (the
# first audit record of the shard's chain committed after the kill: a call's record rides the transition it commits).
# Then p50 and max over the kills, and the driver's workflows completed and failed.
# Needs Release builds of src/Bastion.Cli and benchmarks/Bastion.LoadTest, and PostgreSQL (BASTION_TEST_DATABASE_URL,
# or one is started: .ci/postgres.sh). KEEP_LOGS=DIR keeps the nodes' logs, the driver's output, the master key, the
# database's URL (when the database outlives the script) and the run's audit log (audit.jsonl: every call, which node
# took it, its status) there, the nodes' logs as JSON lines (timestamped); NODE_LOG_LEVEL sets their level (warn).
# usage: benchmarks/failover.sh [KILLS (10)]
KILLS=${1:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" && . .ci/postgres.sh >/dev/null; OWN_PG=; [ -z "$BASTION_TEST_DATABASE_URL" ] && { pg_start >/dev/null 2>&1; OWN_PG=1; }
BASE=$BASTION_TEST_DATABASE_URL; DB=failover_$$_$RANDOM
psql "$BASE" -qc "CREATE DATABASE $DB" >/dev/null
URL=${BASE%/*}/$DB
B=$ROOT/src/Bastion.Cli/bin/Release/net10.0/bastion.dll; LT=$ROOT/benchmarks/Bastion.LoadTest/bin/Release/net10.0/bastion-loadtest.dll
D=$(mktemp -d /tmp/failover.XXXX); declare -A PID
q() { psql "$URL" -tAc "$1"; }
start_node() {
  dotnet $B server start-dev --headless --port 760$1 --log-level ${NODE_LOG_LEVEL:-warn} --log-format $LOG_FORMAT --database-url "$URL" --master-key-file $D/mk --shards 16 \
    --cluster-address 127.0.0.1:76$1$1 --node-name n$1 >> $D/n$1.log 2>&1 &
  PID[$1]=$!
}
# .NET ticks (the audit log's commit_time) of a Unix time in milliseconds
ticks() { echo $(( $1 * 10000 + 621355968000000000 )); }
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOG_FORMAT=$([ -n "$KEEP_LOGS" ] && echo json || echo pretty) # kept logs need their timestamps
for i in 1 2 3; do start_node $i; sleep 5; done
sleep 15
# the driver: runs of 400 workflows until the kills are done
touch $D/driving
( while [ -f $D/driving ]; do dotnet $LT --target 127.0.0.1:7601 --scenario activity --workflows 400 --warmup 0 --concurrency 16 2>&1 | grep -E '^\| target|^  error x' >> $D/driver.txt; done ) &
DRIVER=$!
sleep 20
: > $D/kills.txt
for k in $(seq 1 $KILLS); do
  # nodes 2 and 3 in turn; one that holds no shard (rendezvous hashing may give it none) is passed over
  for i in $(seq 1 60); do
    v=$(( (k + i) % 2 == 0 ? 2 : 3 ))
    owned=$(q "SELECT string_agg(shard_id::text, ' ') FROM shards WHERE owner = 'n$v'"); [ -n "$owned" ] && break; sleep 0.5
  done
  kill -9 ${PID[$v]}; kill_ms=$(date +%s%3N); wait ${PID[$v]} 2>/dev/null # after the kill: a later commit is another node's
  taken_ms=
  for i in $(seq 1 900); do
    [ "$(q "SELECT count(*) FROM shards WHERE owner = 'n$v'")" = 0 ] && { taken_ms=$(date +%s%3N); break; }
    sleep 0.1
  done
  echo "$k n$v $kill_ms ${taken_ms:-none} $owned" >> $D/kills.txt
  sleep 5; start_node $v; sleep 25
done
rm -f $D/driving; wait $DRIVER
for i in 1 2 3; do kill -TERM ${PID[$i]} 2>/dev/null; done; wait 2>/dev/null
echo "kill  node  shards  taken (s)  first commit on each moved shard (s)"
: > $D/firsts.txt
while read -r k node kill_ms taken_ms shards; do
  kt=$(ticks $kill_ms); last=0; each=()
  for s in $shards; do
    first=$(q "SELECT min(commit_time) FROM audit_log WHERE chain_id = 'shard/$s' AND commit_time > $kt")
    if [ -z "$first" ]; then each+=("shard $s: none"); last=none; continue; fi
    d=$(echo "scale=2; ($first - $kt) / 10000000" | bc); each+=("$s: $d")
    [ "$last" != none ] && (( $(echo "$d > $last" | bc) )) && last=$d
  done
  taken=$([ "$taken_ms" = none ] && echo none || echo "scale=2; ($taken_ms - $kill_ms) / 1000" | bc)
  echo "$k  $node  $(echo $shards | wc -w)  $taken  ${each[*]}"
  echo "$taken $last" >> $D/firsts.txt
done < $D/kills.txt
stats() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) {print "none"; exit} printf "p50 %.2f s, max %.2f s over %d kills\n", a[int((NR+1)/2)], a[NR], NR}'; }
echo "all moved shards taken: $(awk '$1 != "none" {print $1}' $D/firsts.txt | stats)"
echo "the last moved shard's first commit: $(awk '$2 != "none" {print $2}' $D/firsts.txt | stats)"
echo "kills with a shard never taken or never committed: $(awk '$1 == "none" || $2 == "none"' $D/firsts.txt | wc -l)"
awk -F'|' '/^\| target/ {c += $4; e += $12} END {printf "driver: %d workflows completed, %d failed\n", c, e}' $D/driver.txt
grep '^  error x' $D/driver.txt
if [ -n "$KEEP_LOGS" ]; then
  mkdir -p "$KEEP_LOGS"; cp $D/n*.log $D/driver.txt $D/kills.txt $D/mk "$KEEP_LOGS"/; echo "$URL" > "$KEEP_LOGS"/url
  BASTION_MASTER_KEY=$(cat $D/mk) dotnet $B audit export --database-url "$URL" --since "$STARTED" -o "$KEEP_LOGS"/audit.jsonl \
    || echo "the audit log could not be exported" >&2
fi
rm -rf $D; [ -n "$OWN_PG" ] && pg_stop >/dev/null 2>&1
