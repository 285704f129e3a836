#!/usr/bin/env bash
# resume.sh - resumed vs full TLS handshakes per second, ApiGateway against nginx, interleaved.
#
#   bench/resume.sh [--rounds N] [--secs S] [--ports "nginx=8443 apigateway=8446"]
#
# The peer harness's load generator turns session resumption off (every connection a full handshake), so resumed
# handshakes are measured here with `openssl s_time`: one connection at a time, `-new` (full handshake each time)
# and `-reuse` (the first full, then every one resumed from its session ticket), each with the harness's client
# certificate and one HTTP request per connection. Sequential, so the figures are latency-bound connections/s;
# compare them as ratios. The systems must be running (bench/run.sh's harness, or peers.sh start).
set -euo pipefail
ROUNDS=3; SECS=5; PORTS="nginx=8443 apigateway=8446"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift ;;
    --secs) SECS="$2"; shift ;;
    --ports) PORTS="$2"; shift ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
CERTS="${APIGATEWAY_BENCH_WORK:-/tmp/apigateway-bench/work}/peers/certs"
run() { # port -new|-reuse -> "connections/s reused-share%", from the wall clock around s_time
  local t0 t1 out n r
  t0=$(date +%s.%N)
  out="$(timeout $((SECS + 20)) openssl s_time -connect "127.0.0.1:$1" -cert "$CERTS/client.crt" -key "$CERTS/client.key" -time "$SECS" "$2" -www / 2>/dev/null || true)"
  t1=$(date +%s.%N)
  n="$(echo "$out" | awk '/connections in .* real seconds/ { print $1 }' | tail -1)"
  r="$(echo "$out" | tr -cd 'r' | wc -c)"
  awk -v n="${n:-0}" -v r="$r" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f %.0f", n / (b - a), (n > 0 ? 100 * r / n : 0) }'
}
echo "| round | system | full handshakes/s (s_time -new) | resumed handshakes/s (s_time -reuse) | reused % |"
echo "|---|---|---:|---:|---:|"
for r in $(seq 1 "$ROUNDS"); do
  for entry in $PORTS; do
    name="${entry%%=*}"; port="${entry#*=}"
    read -r full _ <<< "$(run "$port" -new)"
    read -r resumed share <<< "$(run "$port" -reuse)"
    echo "| $r | $name | $full | $resumed | $share |"
  done
done
