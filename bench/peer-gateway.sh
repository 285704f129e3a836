#!/usr/bin/env bash
# peer-gateway.sh CERTS_DIR PORT BACKEND_URL
#
# The ApiGateway entry of the peer comparison (../shared/bench-peers, see its README "Adding the project's gateway"):
# builds the benchmark tools and the gateway host in Release once, turns the harness's certificate folder into an
# ApiGateway configuration through the Core operations (bench/ApiGateway.Benchmarks peer-setup), then execs the
# gateway in the foreground on it, so the harness's process-group stop reaches it.
#
#   bench/run.sh calls the harness with:  --project-cmd 'bench/peer-gateway.sh {certs} {port} {backend}'
#
# Environment:
#   APIGATEWAY_BENCH_ARTIFACTS  build output (default /tmp/apigateway-bench/artifacts)
#   APIGATEWAY_BENCH_POLICY     allow-list as "choose" (APIM's thumbprint policy, default) or "validate"
#                               (validate-client-certificate identities)
#   APIGATEWAY_BENCH_HOST_ARGS  extra arguments for "ApiGateway.Host run"
#   APIGATEWAY_BENCH_ACCESS_LOG a path: run with --access-log there (bench/settings-sweep.sh measures its cost)
#   APIGATEWAY_BENCH_NO_BUILD   1: never build here (bench/run.sh has just built; the harness gives a gateway 30 s)
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 CERTS_DIR PORT BACKEND_URL" >&2
  exit 2
fi
CERTS="$1"; PORT="$2"; BACKEND="$3"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ART="${APIGATEWAY_BENCH_ARTIFACTS:-/tmp/apigateway-bench/artifacts}"
POLICY="${APIGATEWAY_BENCH_POLICY:-choose}"
TOOL="$ART/bin/ApiGateway.Benchmarks/release/ApiGateway.Benchmarks.dll"
HOST_DLL="$ART/bin/ApiGateway.Host/release/ApiGateway.Host.dll"

# Build once: again only when a source file is newer than the build (bench/run.sh builds before starting the
# harness, which gives a gateway 30 s to listen).
stale() {
  [ -f "$TOOL" ] && [ -f "$HOST_DLL" ] || return 0
  [ -n "$(find "$ROOT/src" "$ROOT/bench/ApiGateway.Benchmarks" \( -name '*.cs' -o -name '*.csproj' \) -newer "$TOOL" -print -quit)" ]
}
if [ "${APIGATEWAY_BENCH_NO_BUILD:-0}" != 1 ] && stale; then
  dotnet build "$ROOT/bench/ApiGateway.Benchmarks" -c Release --artifacts-path "$ART" -nologo -v q >&2
fi

# A fresh configuration per start, in a fixed place (the previous one is removed, nothing piles up).
WORK="$ART/peer-config/$PORT"
rm -rf "$WORK"
CONFIG="$(dotnet "$TOOL" peer-setup --certs "$CERTS" --port "$PORT" --backend "$BACKEND" --out "$WORK" --policy "$POLICY")"
echo "peer-gateway: $CONFIG (policy: $POLICY)" >&2
# No status endpoint or state file: nothing but the gateway's own listener in the measured process.
# shellcheck disable=SC2086
ACCESS=()
[ -n "${APIGATEWAY_BENCH_ACCESS_LOG:-}" ] && ACCESS=(--access-log "$APIGATEWAY_BENCH_ACCESS_LOG")
exec dotnet "$HOST_DLL" run --config "$CONFIG" --status-port none "${ACCESS[@]}" ${APIGATEWAY_BENCH_HOST_ARGS:-}
