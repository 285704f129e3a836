#!/usr/bin/env python3
"""flamegraph.py - `perf script` text -> folded stacks, an SVG flame graph and a table of where the CPU went.

    perf record -F 499 -g -p PID -o ka.data -- sleep 8      # gateway started with DOTNET_PerfMapEnabled=1
    perf script -i ka.data > ka.txt                          #   (and DOTNET_EnableWriteXorExecute=0, so JIT frames resolve)
    bench/flamegraph.py ka.txt --title "keep-alive, before" --svg bench/flame-ka-before.svg --per-request-us 97

Written for this repository (Brendan Gregg's FlameGraph scripts are not on the build machines): frames are the
.NET method names from the perf map (assembly and signature dropped), native frames by symbol or library. The
table (markdown on stdout) puts each sample in the first category, leaf first, whose pattern matches a frame of
its stack; with --per-request-us the shares are also given in microseconds of CPU per request.
"""
import argparse
import html
import re
import sys
from collections import Counter

# Leaf-first: a sample is charged to the innermost frame that matches one of these (in this order of the stack).
CATEGORIES = [
    # On a VM without a PMU perf samples cpu-clock; a sample taken as the thread is switched back in lands here.
    ("scheduler switch-in (kernel; preemption on a busy machine)", [r"finish_task_switch"]),
    ("JIT compiler (tiered compilation still running)", [r"libclrjit"]),
    ("thread pool spinning / waiting", [r"sched_yield", r"SpinWait", r"LowLevelLifoSemaphore", r"WorkerThread::WorkerDoWork", r"futex"]),
    ("GC and allocation", [r"\bgc_heap\b", r"GCHeap", r"Allocate", r"JIT_New", r"memset"]),
    ("TLS record crypto (OpenSSL)", [r"libcrypto", r"libssl", r"aes", r"gcm", r"Interop\+Ssl", r"SslStream::(Encrypt|Decrypt)"]),
    ("socket syscalls (kernel)", [r"\[kernel", r"__send", r"__recv", r"epoll", r"SocketAsyncEngine", r"SocketAsyncContext"]),
    ("policy pipeline (ours)", [r"ApiGateway\.Host\.Pipeline\.Steps", r"ApiGateway\.Host\.Context", r"Submission#", r"ApiGateway\.Host\.Expressions"]),
    ("forwarding: YARP + HttpClient", [r"Yarp\.", r"System\.Net\.Http\."]),
    ("gateway handler and backend glue (ours)", [r"ApiGateway\."]),
    ("Kestrel HTTP/1.1 + pipelines", [r"Kestrel", r"System\.IO\.Pipelines", r"Microsoft\.AspNetCore\."]),
    ("SslStream framing", [r"System\.Net\.Security"]),
    ("async machinery / thread pool dispatch", [r"ExecutionContext", r"AsyncTaskMethodBuilder", r"ThreadPoolWorkQueue", r"AsyncStateMachineBox"]),
]

NET_FRAME = re.compile(r"^(?:instance )?(?:\S+ )?\[(?P<asm>[^\]]+)\] (?P<name>[^(]+)\(")


def clean(frame: str) -> str:
    """A short name: `Namespace.Type::Method` for .NET frames, the symbol or library otherwise."""
    frame = frame.strip()
    parts = frame.split(" ", 1)
    rest = parts[1] if len(parts) > 1 else parts[0]
    lib = ""
    m = re.search(r"\(([^()]*)\)\s*$", rest)
    if m:
        lib = m.group(1)
        rest = rest[: m.start()].strip()
    n = NET_FRAME.match(rest)
    if n:
        name = n.group("name").strip()
        name = re.sub(r"`\d+(\[[^\]]*\])?", "", name)
        return name
    rest = re.sub(r"\+0x[0-9a-f]+$", "", rest)
    if rest in ("[unknown]", ""):
        base = lib.rsplit("/", 1)[-1] if lib else "unknown"
        return f"[{base}]"
    if "kernel" in lib:
        return rest + " [kernel]"
    return rest


def read_stacks(path):
    stacks = Counter()
    frames = []
    header = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                if header is not None:
                    stacks[";".join(reversed(frames)) or header] += 1
                header, frames = None, []
                continue
            if not line.startswith((" ", "\t")):
                header = line.split()[0] if line.split() else "?"
                frames = []
                continue
            frames.append(clean(line))
    if header is not None:
        stacks[";".join(reversed(frames)) or header] += 1
    return stacks


def categorize(stacks):
    compiled = [(name, [re.compile(p) for p in pats]) for name, pats in CATEGORIES]
    totals = Counter()
    for stack, count in stacks.items():
        frames = stack.split(";")[::-1]  # leaf first
        chosen = "other (runtime native, unresolved)"
        for frame in frames:
            hit = next((name for name, pats in compiled if any(p.search(frame) for p in pats)), None)
            if hit:
                chosen = hit
                break
        totals[chosen] += count
    return totals


def svg(stacks, title, width=1200, row=16):
    root = {"n": 0, "c": {}}
    for stack, count in stacks.items():
        node = root
        node["n"] += count
        for frame in stack.split(";"):
            node = node["c"].setdefault(frame, {"n": 0, "c": {}})
            node["n"] += count
    total = root["n"] or 1
    rects = []
    depth_max = [0]

    def walk(node, name, x, depth):
        w = node["n"] / total * (width - 20)
        if w < 0.3:
            return
        depth_max[0] = max(depth_max[0], depth)
        rects.append((x, depth, w, name, node["n"]))
        cx = x
        for child_name, child in sorted(node["c"].items()):
            walk(child, child_name, cx, depth + 1)
            cx += child["n"] / total * (width - 20)

    walk(root, "all", 10, 0)
    height = (depth_max[0] + 3) * row + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">',
           f'<rect width="100%" height="100%" fill="#fafafa"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15">{html.escape(title)}</text>']
    for x, depth, w, name, n in rects:
        y = height - (depth + 1) * row - 10
        h = sum(ord(c) for c in name) % 60
        color = f"rgb({205 + h % 50},{80 + h * 2},{40 + h % 30})"
        pct = 100.0 * n / total
        label = html.escape(name)
        out.append(f'<g><title>{label} ({n} samples, {pct:.2f}%)</title>'
                   f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" fill="{color}" rx="1"/>')
        chars = int(w / 6.6)
        if chars >= 4:
            text = name if len(name) <= chars else name[: chars - 2] + ".."
            out.append(f'<text x="{x + 2:.1f}" y="{y + row - 4}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("perf_script")
    ap.add_argument("--title", default="flame graph")
    ap.add_argument("--svg")
    ap.add_argument("--folded")
    ap.add_argument("--per-request-us", type=float, help="measured gateway CPU per request, to turn shares into µs")
    args = ap.parse_args()
    stacks = read_stacks(args.perf_script)
    if args.folded:
        with open(args.folded, "w", encoding="utf-8") as f:
            for stack, count in stacks.most_common():
                f.write(f"{stack} {count}\n")
    if args.svg:
        with open(args.svg, "w", encoding="utf-8") as f:
            f.write(svg(stacks, args.title) + "\n")
    totals = categorize(stacks)
    total = sum(totals.values()) or 1
    per = args.per_request_us
    print(f"| where ({total} samples) | share |" + (" µs CPU/request |" if per else ""))
    print("|---|---:|" + ("---:|" if per else ""))
    for name, count in totals.most_common():
        share = count / total
        print(f"| {name} | {100 * share:.1f} % |" + (f" {share * per:.1f} |" if per else ""))


if __name__ == "__main__":
    sys.exit(main())
