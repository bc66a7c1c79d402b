#!/usr/bin/env bash
# Publishes bastion as one self-contained file (no .NET installation needed on the target) and smoke-tests it when it
# runs on this machine: `bastion --version`, then `server start-dev` until it is ready (its /readyz answers).
#
#   deploy/publish.sh                 # linux-x64 into out/linux-x64/bastion
#   deploy/publish.sh linux-arm64     # linux-arm64 into out/linux-arm64/bastion (not run here unless the machine is arm64)
#   deploy/publish.sh linux-x64 DIR   # into DIR
#
# Native libraries (SQLite's, the Temporal SDK's bridge) are inside the file and extracted on first start to
# $DOTNET_BUNDLE_EXTRACT_BASE_DIR (default ~/.net); the systemd unit points it at the state directory.
set -euo pipefail
cd "$(dirname "$0")/.."
rid=${1:-linux-x64}
out=${2:-out/$rid}

dotnet publish src/Bastion.Cli/Bastion.Cli.csproj -c Release -r "$rid" --self-contained \
  -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:EnableCompressionInSingleFile=true \
  -p:DebugType=none -o "$out" --nologo -v quiet
ls -l "$out/bastion"

machine=$(uname -m)
if [[ ("$rid" == linux-x64 && "$machine" == x86_64) || ("$rid" == linux-arm64 && "$machine" == aarch64) ]]; then
  "$out/bastion" --version
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  metrics=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$out/bastion" server start-dev --headless --port "$port" --metrics-port "$metrics" --log-level warn --command-timeout 60s &
  pid=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$metrics/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.3
  done
  curl -fsS "http://127.0.0.1:$metrics/readyz"; echo
  kill -TERM "$pid"
  wait "$pid"
  echo "smoke test passed: $out/bastion"
fi
