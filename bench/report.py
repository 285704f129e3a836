#!/usr/bin/env python3
"""Writes bench/results/<stamp>/RESULTS.md from the parts bench/run.sh collected in that folder:
machine.md, peers/summary.json + peers/summary.md (the harness), bdn/results/*-report-github.md (BenchmarkDotNet),
rotation.md. The headline is ratios (ours / nginx, ours / direct-to-backend), since absolute figures move between
machines."""
import glob
import json
import os
import re
import sys

out = sys.argv[1]
quick = len(sys.argv) > 3 and sys.argv[3] == "1"
OURS = "apigateway"


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def fmt(v, digits=0):
    return "-" if v is None else f"{v:,.{digits}f}".replace(",", " ")


def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}"


lines = ["# ApiGateway benchmarks", ""]
if quick:
    lines += ["**Quick run** (`bench/run.sh --quick`): short runs, rough figures; not for comparison.", ""]
lines += ["Written by `bench/run.sh` (or `./build.ps1 -Task Bench`). Machine:", "", read(os.path.join(out, "machine.md")) or "(not recorded)", ""]

# ---- headline: the peer comparison ----------------------------------------------------------------------
summary = None
raw = read(os.path.join(out, "peers", "summary.json"))
if raw:
    summary = json.loads(raw)


def cell(system, mode, key):
    if summary is None:
        return None
    return summary.get(f"{system}/{mode}", {}).get(key)


lines += ["## Headline: against real peers (one interleaved run of ../shared/bench-peers)", ""]
if summary is None:
    lines += ["The peer comparison did not run (see run.log).", ""]
else:
    env = read(os.path.join(out, "peers", "env.txt")) or ""
    m = re.search(r"rounds=(\S+) ka=(\S+) new=(\S+) reject=(\S+) c=(\S+)", env)
    if m:
        lines += [f"Rounds {m.group(1)}, keep-alive runs {m.group(2)}, new-connection runs {m.group(3)}, rejection runs {m.group(4)}, "
                  f"{m.group(5)} connections; medians over the rounds. `gateway CPU` is the gateway's own process group per request.", ""]
    lines += ["| figure | ApiGateway | nginx | HAProxy | Kestrel+YARP by hand | direct to backend | **ours ÷ nginx** | **ours ÷ direct** | ours ÷ hand-written |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows = [
        ("keep-alive req/s (c=32)", "ka", "rps", 0),
        ("keep-alive gateway CPU µs/request", "ka", "srv_us", 0),
        ("keep-alive p99 ms", "ka", "p99", 2),
        ("full mTLS handshakes/s", "new", "rps", 0),
        ("gateway CPU µs/handshake", "new", "srv_us", 0),
        ("untrusted-certificate refusals/s", "reject", "rps", 0),
    ]
    for label, mode, key, digits in rows:
        ours = cell(OURS, mode, key)
        nginx = cell("nginx", mode, key)
        floor = cell("floor", mode, key) if key != "srv_us" else None
        lines.append(f"| {label} | **{fmt(ours, digits)}** | {fmt(nginx, digits)} | {fmt(cell('haproxy', mode, key), digits)} | "
                     f"{fmt(cell('refgw', mode, key), digits)} | {fmt(floor, digits) if floor is not None else '-'} | "
                     f"**{ratio(ours, nginx)}** | {ratio(ours, floor) if floor is not None else '-'} | {ratio(ours, cell('refgw', mode, key))} |")
    lines += ["", "For req/s and handshakes/s higher is better; for CPU µs and p99 lower is better. The direct-to-backend column is "
              "the load generator straight to the backend (no gateway): the floor of the chain on this machine.", "",
              "Ours leaves out ASP.NET Core's per-request hosting diagnostics (`Microsoft.AspNetCore.Hosting.Diagnostics`: an activity "
              "and a logging scope per request, and HttpClient's `traceparent` toward the backend), which the hand-written Kestrel+YARP "
              "gateway keeps, as a default ASP.NET Core application does: part of the difference between those two columns is that, "
              "not the policy pipeline (docs/gateway.md, Logging).", ""]
    accepted = cell(OURS, "reject", "accepted")
    errors = [cell(OURS, m, "errors") for m in ("ka", "new", "reject")]
    lines += [f"ApiGateway: untrusted certificates accepted: **{fmt(accepted)}** (must be 0); load errors ka/new/reject: {', '.join(fmt(e) for e in errors)}.", ""]
    others = [v.get("other") for v in summary.values() if isinstance(v, dict) and v.get("other") is not None]
    if others:
        lines += [f"Noise: other processes used {min(others):.0f}-{max(others):.0f}% CPU (of 200) during the cells' runs (median per cell); "
                  "the harness leaves runs above 15% out of the medians while 2 clean runs remain (`runs used` below).", ""]
    policy = os.environ.get("APIGATEWAY_BENCH_POLICY", "choose")
    lines += [f"ApiGateway's allow-list in this run: `{policy}` ("
              + ("APIM's thumbprint policy, `choose`/`when` on `context.Request.Certificate.Thumbprint`" if policy == "choose"
                 else "`validate-client-certificate` with one identity per thumbprint") + "), strict client-certificate mode on the hostname, "
              "configuration made by `bench/peer-gateway.sh` through the Core operations.", ""]
    details = read(os.path.join(out, "peers", "summary.md"))
    if details:
        lines += ["### The harness's tables", "", details.strip(), ""]

# ---- BenchmarkDotNet ---------------------------------------------------------------------------------------------
lines += ["## Inside the gateway (BenchmarkDotNet, in process)", ""]
targets = {
    "PolicyEvaluationBenchmarks": "Policy evaluation per request (target: ≤ 100 ns, no allocation). `PolicyOnly`: the API's compiled inbound steps "
        "on a begun request context; `Request`: the same plus taking the pooled request context, beginning and ending it and "
        "returning it (what every request pays, policy or not: `none` is an API without inbound policy). Both are a **warm kept-alive "
        "connection**: the certificate's facts, the identity that matched and the verification are cached on the connection after its "
        "first request. `FirstRequest` is the first request on a new connection (nothing cached, every identity matched), including "
        "the handshake's validation callback. `Budget` False compiles the same policies without the expression budget's "
        "instrumentation (the gateway never does): `Cost of Budget` is the difference (goal: ≤ 5 % or 20 ns, whichever is larger, "
        "and no allocation). Every time column is the mean unless it says Median; `Target` shows the 99.9 % confidence interval of the mean and is met "
        "or MISSED only when the whole interval is on one side of the goal.",
    "ReloadBenchmarks": "Loading configurations of 10, 100 and 1,000 APIs with policy expressions (target: ≤ 500 ms for a reload at 1,000). "
        "`CompileAll`: every expression compiled anew, the APIs' expressions differing in their strings (thumbprint, name), which "
        "share one compiled method per shape; `CompileAllDistinct`: every API's condition also differs in code, so nothing is shared "
        "(the worst case); `Reload`: a reload whose expressions are unchanged; `ReloadOneApiChanged`: one API's policy changed. "
        "Roslyn's own start-up is paid by the warm-up iterations, as by a gateway's first load.",
    "StoreBenchmarks": "Core certificate operations on configurations with 100, 1,000 and 10,000 certificates (target: ≤ 200 ms at 10,000).",
    "HandshakeBenchmarks": "What the gateway adds to a full mTLS handshake: `ChainBuild` is the client chain SslStream builds per handshake "
        "with the listener's policy (uploaded CA as the only trust anchor, no revocation, no downloads), the same work the "
        "hand-written Kestrel gateway does; `ValidationCallback` is the gateway's own callback that records the connection's "
        "certificate state and decides.",
}
reports = sorted(glob.glob(os.path.join(out, "bdn", "results", "*-report-github.md")))
if not reports:
    lines += ["The BenchmarkDotNet suites did not run (see run.log).", ""]
for path in reports:
    name = os.path.basename(path).replace("-report-github.md", "").split(".")[-1]
    text = read(path).strip()
    # Keep the table and the environment line BenchmarkDotNet writes above it.
    lines += [f"### {name}", "", targets.get(name, ""), "", text, ""]

# ---- rotation ---------------------------------------------------------------------------------------------------
lines += ["## Rotation under load", ""]
rotation = read(os.path.join(out, "rotation.md"))
lines += [rotation.strip() if rotation else "The rotation run did not finish (see rotation.log).", ""]

print("\n".join(lines))
