#!/usr/bin/env bash
# settings-sweep.sh - runtime and transport settings, one per gateway instance, measured in one interleaved run
# against nginx with the peer harness's backend, certificates and load generator (../shared/bench-peers).
#
#   bench/settings-sweep.sh [--rounds N] [--secs S] [--mode ka|new] [--variants FILE] [--access-log]
#
# Each variant is a line "name ENV=VALUE ..." (default list below); every variant runs as its own gateway on port
# 8450+i with the same configuration (bench/peer-gateway.sh). Each round measures nginx and every variant in turn,
# the starting point rotating, so slow drifts of a shared machine hit every variant alike. Output: one JSON line per
# run in $OUT/raw.jsonl and a table of medians and ratios (vs nginx, vs "base") on stdout.
#
# Needs: the harness built (bench/run.sh or ../shared/bench-peers/peers.sh build) in $APIGATEWAY_BENCH_WORK/peers.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROUNDS=3; SECS=4; MODE=ka; VARIANTS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift ;;
    --secs) SECS="$2"; shift ;;
    --mode) MODE="$2"; shift ;;
    --variants) VARIANTS="$2"; shift ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
export APIGATEWAY_BENCH_ARTIFACTS="${APIGATEWAY_BENCH_ARTIFACTS:-/tmp/apigateway-bench/artifacts}"
WORK="${APIGATEWAY_BENCH_WORK:-/tmp/apigateway-bench/work}"
PEERS="$WORK/peers"
OUT="${OUT:-$HERE/results/sweep-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
LOADGEN="$PEERS/.build/mtlsload"
CERTS="$PEERS/certs"
[ -x "$LOADGEN" ] || { echo "no load generator at $LOADGEN: run bench/run.sh once (or peers.sh build)" >&2; exit 1; }

DEFAULT_VARIANTS='base
inline APIGATEWAY_SOCKETS=inline=1 DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
waitfordata0 APIGATEWAY_SOCKETS=waitfordata=0
ioqueues1 APIGATEWAY_SOCKETS=ioqueues=1
workstation-gc DOTNET_gcServer=0
datas-off DOTNET_GCDynamicAdaptationMode=0
gc-nonconcurrent DOTNET_gcConcurrent=0
spin0 DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0
event-threads-2 DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT=2'
if [ -n "$VARIANTS" ]; then LIST="$(cat "$VARIANTS")"; else LIST="$DEFAULT_VARIANTS"; fi

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  (cd "$PEERS" && ./peers.sh stop backend nginx >/dev/null 2>&1 || true)
}
trap cleanup EXIT
(cd "$PEERS" && ./peers.sh start backend nginx >/dev/null)
NGINX_PGID="$(cat "$PEERS/.state/nginx.pid")"

NAMES=(); PORTS=(); PGIDS=()
i=0
while IFS= read -r line; do
  [ -z "$line" ] && continue
  name="${line%% *}"; envs=""; [ "$line" != "$name" ] && envs="${line#* }"
  port=$((8450 + i))
  # shellcheck disable=SC2086
  setsid env $envs APIGATEWAY_BENCH_NO_BUILD=1 "$HERE/peer-gateway.sh" "$CERTS" "$port" https://127.0.0.1:9443/ > "$OUT/$name.log" 2>&1 &
  PIDS+=("$!"); NAMES+=("$name"); PORTS+=("$port"); PGIDS+=("$!")
  i=$((i + 1))
done <<< "$LIST"
for port in "${PORTS[@]}"; do
  for _ in $(seq 1 120); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.5; done
done
load() { # port pgid mode secs label
  "$LOADGEN" -p "$1" -m "$3" -d "$4" -w 0.5 -c 32 --cert "$CERTS/client.crt" --key "$CERTS/client.key" --watch "gw=$2" --label "$5" -q
}
echo "warming up ${#NAMES[@]} variants" >&2
for k in "${!NAMES[@]}"; do load "${PORTS[$k]}" "${PGIDS[$k]}" ka 12 warm >/dev/null; load "${PORTS[$k]}" "${PGIDS[$k]}" new 2 warm >/dev/null; done
SYSTEMS=("nginx" "${NAMES[@]}"); SPORTS=(8443 "${PORTS[@]}"); SPGIDS=("$NGINX_PGID" "${PGIDS[@]}")
n=${#SYSTEMS[@]}
for r in $(seq 1 "$ROUNDS"); do
  for j in $(seq 0 $((n - 1))); do
    k=$(( (j + r) % n ))
    load "${SPORTS[$k]}" "${SPGIDS[$k]}" "$MODE" "$SECS" "${SYSTEMS[$k]}" >> "$OUT/raw.jsonl"
  done
  echo "round $r done" >&2
done
python3 - "$OUT/raw.jsonl" <<'PY' | tee "$OUT/summary.md"
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    cpu = d["cpu_pct"].get("gw", 0)
    rows.setdefault(d["label"], []).append((d["rps"], cpu * 1e4 / d["rps"] if d["rps"] else 0, d["p99_us"] / 1000, d["errors"], d["sys_busy_pct"] - d["lg_cpu_pct"] - cpu))
med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v), statistics.median(r[2] for r in v), sum(r[3] for r in v), statistics.median(r[4] for r in v)) for k, v in rows.items()}
ng = med["nginx"]; base = med.get("base", ng)
print("| system | req/s | CPU µs/req | p99 ms | errors | other CPU % | req/s vs nginx | CPU vs nginx | p99 vs nginx | req/s vs base | CPU vs base |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for k, (rps, cpu, p99, err, other) in med.items():
    print(f"| {k} | {rps:.0f} | {cpu:.0f} | {p99:.2f} | {err} | {other:.0f} | {rps/ng[0]:.2f} | {cpu/ng[1]:.2f} | {p99/ng[2]:.2f} | {rps/base[0]:.3f} | {cpu/base[1]:.3f} |")
PY
