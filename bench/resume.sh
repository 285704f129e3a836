#!/usr/bin/env bash
# resume.sh - resumed vs full TLS handshakes per second, ApiGateway against nginx, interleaved.
#
#   bench/resume.sh [--rounds N] [--secs S] [--ports "nginx=8443 apigateway=8446"]
#
# The peer harness's load generator turns session resumption off (every connection a full handshake), so resumed
# handshakes are measured here, one connection at a time with the harness's client certificate and one HTTP request
# each: without a session (full handshake) and with the ticket of the previous connection (resumed). Sequential, so
# the figures are latency-bound connections/s; compare them as ratios. The systems must be running (bench/run.sh's harness, or peers.sh start).
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
# s_time -reuse presents one session ticket again and again; the gateway's TLS 1.3 tickets are single-use (OpenSSL's
# stateful tickets, as .NET sets them up), as RFC 8446 8.1 recommends, so that measures the wrong thing. Each
# connection here uses the ticket the previous one received, as a real returning client does: `openssl s_client`
# per connection (its start-up is in every figure alike, so compare the ratio).
run() { # port resume(0|1) -> "connections/s reused%"
  local t0 t1 n=0 reused=0 sess="$TMP/s-$1" out
  rm -f "$sess"
  t0=$(date +%s.%N)
  while awk -v a="$t0" -v b="$(date +%s.%N)" -v s="$SECS" 'BEGIN { exit !(b - a < s) }'; do
    local args=(-connect "127.0.0.1:$1" -servername localhost -cert "$CERTS/client.crt" -key "$CERTS/client.key" -ign_eof)
    if [ "$2" = 1 ]; then
      [ -s "$sess" ] && args+=(-sess_in "$sess")
      args+=(-sess_out "$sess.new")
    fi
    out="$(printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | timeout 10 openssl s_client "${args[@]}" 2>/dev/null || true)"
    [ "$2" = 1 ] && [ -s "$sess.new" ] && mv "$sess.new" "$sess"
    n=$((n + 1))
    case "$out" in *"Reused, TLS"*) reused=$((reused + 1)) ;; esac
  done
  t1=$(date +%s.%N)
  awk -v n="$n" -v r="$reused" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f %.0f", n / (b - a), 100 * r / n }'
}
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
echo "| round | system | full handshakes/s | resumed handshakes/s | resumed % |"
echo "|---|---|---:|---:|---:|"
for r in $(seq 1 "$ROUNDS"); do
  for entry in $PORTS; do
    name="${entry%%=*}"; port="${entry#*=}"
    read -r full _ <<< "$(run "$port" 0)"
    read -r resumed share <<< "$(run "$port" 1)"
    echo "| $r | $name | $full | $resumed | $share |"
  done
done
