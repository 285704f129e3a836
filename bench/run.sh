#!/usr/bin/env bash
# run.sh - the whole ApiGateway benchmark suite, one command, for machines with or without pwsh
# (build.ps1 -Task Bench calls this).
#
#   bench/run.sh [--quick] [--skip-bdn] [--skip-rotation] [--skip-peers] [--publish]
#
#   --quick          smoke-sized: short BenchmarkDotNet jobs, a 6 s rotation run, the harness's --quick peer run
#   --skip-*         leave a part out (its section says so)
#   --publish        copy the result to bench/RESULTS.md (default for a full run with every part; never with --quick)
#
# Steps: build Release (bench/ApiGateway.Benchmarks, which builds the host) -> BenchmarkDotNet suites (policy
# evaluation, reload, Core store) -> rotation under load -> the peer comparison (../shared/bench-peers with
# bench/peer-gateway.sh as the project's gateway) -> bench/results/<timestamp>/RESULTS.md with the machine, the
# headline ratios (ours / nginx, ours / direct-to-backend) and every table.
#
# Environment: APIGATEWAY_BENCH_ARTIFACTS (build output, default /tmp/apigateway-bench/artifacts),
#   APIGATEWAY_BENCH_WORK (copy of the peer harness, its certificates and builds; default /tmp/apigateway-bench/work),
#   APIGATEWAY_BENCH_POLICY (allow-list style of the peer gateway: choose | validate), PEERS_ARGS (extra harness options).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
QUICK=0; BDN=1; ROTATION=1; PEERS=1; PUBLISH=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --skip-bdn) BDN=0 ;;
    --skip-rotation) ROTATION=0 ;;
    --skip-peers) PEERS=0 ;;
    --publish) PUBLISH=1 ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$PUBLISH" = auto ]; then
  if [ "$QUICK" = 0 ] && [ "$BDN$ROTATION$PEERS" = 111 ]; then PUBLISH=1; else PUBLISH=0; fi
fi
[ "$QUICK" = 1 ] && PUBLISH=0

export APIGATEWAY_BENCH_ARTIFACTS="${APIGATEWAY_BENCH_ARTIFACTS:-/tmp/apigateway-bench/artifacts}"
ART="$APIGATEWAY_BENCH_ARTIFACTS"
WORK="${APIGATEWAY_BENCH_WORK:-/tmp/apigateway-bench/work}"
HARNESS="$ROOT/../shared/bench-peers"
STAMP="$(date +%Y%m%d-%H%M%S)"
OUT="$HERE/results/$STAMP$([ "$QUICK" = 1 ] && echo -quick || true)"
TOOL="$ART/bin/ApiGateway.Benchmarks/release/ApiGateway.Benchmarks.dll"
HOST_DLL="$ART/bin/ApiGateway.Host/release/ApiGateway.Host.dll"
mkdir -p "$OUT"
T0=$(date +%s)
log() { printf '[run.sh %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" | tee -a "$OUT/run.log" >&2; }
STATUS=0

# ---- build ------------------------------------------------------------------------------------------
log "building Release into $ART"
dotnet build "$ROOT/bench/ApiGateway.Benchmarks" -c Release --artifacts-path "$ART" -nologo -v q 2>&1 | tee -a "$OUT/run.log" >&2

# ---- machine --------------------------------------------------------------------------------------------
{
  echo "| | |"
  echo "|---|---|"
  echo "| date | $(date -Is) |"
  echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //') |"
  echo "| cores | $(nproc) |"
  echo "| RAM | $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |"
  echo "| OS, kernel | $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), $(uname -r) |"
  echo "| .NET | $(dotnet --list-runtimes | grep -m1 AspNetCore | cut -d' ' -f1-2), SDK $(dotnet --version) |"
  echo "| OpenSSL | $(openssl version 2>/dev/null || echo none) |"
  echo "| nginx, HAProxy | $(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v 2>/dev/null | head -1 | cut -d' ' -f1-3 || echo none) |"
  echo "| commit | $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet -- src bench 2>/dev/null || echo ' (with uncommitted changes)') |"
} > "$OUT/machine.md"

# ---- BenchmarkDotNet suites -------------------------------------------------------------------------------
if [ "$BDN" = 1 ]; then
  log "BenchmarkDotNet suites (policy evaluation, reload, store)"
  if [ "$QUICK" = 1 ]; then export APIGATEWAY_BENCH_QUICK=1; fi
  if ! (cd "$OUT" && dotnet "$TOOL" bdn --filter '*' --artifacts "$OUT/bdn" > "$OUT/bdn.log" 2>&1); then
    log "BenchmarkDotNet reported a failure (see $OUT/bdn.log)"; STATUS=1
  fi
fi

# ---- rotation under load ------------------------------------------------------------------------------------
if [ "$ROTATION" = 1 ]; then
  log "rotation under load"
  SECS=15; ROUNDS=4; [ "$QUICK" = 1 ] && { SECS=6; ROUNDS=2; }
  if ! timeout 180 dotnet "$TOOL" rotation --host "$HOST_DLL" --seconds "$SECS" --rounds "$ROUNDS" --connections 4 --out "$OUT/rotation.md" > "$OUT/rotation.log" 2>&1; then
    log "rotation run FAILED (see $OUT/rotation.log)"; STATUS=1
  fi
fi

# ---- peers -----------------------------------------------------------------------------------------------------
if [ "$PEERS" = 1 ]; then
  if [ ! -d "$HARNESS" ]; then
    log "no peer harness at $HARNESS: peer comparison skipped"; STATUS=1
  else
    # ../shared is read-only: the harness runs from a copy (its scripts refreshed every run; certificates and the
    # builds of the load generator and reference gateway kept between runs).
    mkdir -p "$WORK/peers"
    (cd "$HARNESS" && tar --exclude=.build --exclude=.state --exclude=certs --exclude=certs-rsa --exclude=results -cf - .) | (cd "$WORK/peers" && tar xf -)
    chmod -R u+w "$WORK/peers"
    PEER_OPTS=(--project-cmd "$ROOT/bench/peer-gateway.sh {certs} {port} {backend}" --project-name apigateway
               --systems "floor nginx haproxy refgw" --out "$OUT/peers")
    [ "$QUICK" = 1 ] && PEER_OPTS+=(--quick)
    export APIGATEWAY_BENCH_NO_BUILD=1
    log "peer comparison (../shared/bench-peers/run.sh ${PEER_OPTS[*]} ${PEERS_ARGS:-})"
    # shellcheck disable=SC2086
    if ! "$WORK/peers/run.sh" "${PEER_OPTS[@]}" ${PEERS_ARGS:-} > "$OUT/peers.log" 2>&1; then
      log "peer run FAILED (see $OUT/peers.log)"; STATUS=1
    fi
  fi
fi

# ---- report ------------------------------------------------------------------------------------------------------
python3 "$HERE/report.py" "$OUT" --quick "$QUICK" > "$OUT/RESULTS.md"
log "wrote $OUT/RESULTS.md"
if [ "$PUBLISH" = 1 ]; then
  cp "$OUT/RESULTS.md" "$HERE/RESULTS.md"
  log "copied to bench/RESULTS.md"
fi
exit "$STATUS"
