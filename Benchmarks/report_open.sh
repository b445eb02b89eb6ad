#!/usr/bin/env bash
# How long `heapsnap report` takes to write, and headless Chromium to open and draw, a report of a
# snapshot with STACKS distinct stacks (default 100,000), ~18 frames each, over 3,000 functions.
# usage: report_open.sh HEAPSNAP_CLI WORK_DIR [STACKS]
set -euo pipefail
cli=$1 work=$2 stacks=${3:-100000}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
python3 - "$work/stacks.json" "$stacks" <<'PY'
import json, random, sys
path, stacks = sys.argv[1], int(sys.argv[2])
random.seed(12)
functions = 3000
frames = [{"module": "/srv/app/server", "function": f"handler_{i}", "file": f"/srv/app/src/mod{i % 60}.c",
           "line": 10 + i % 900, "inlined": False, "address": 0x555500000000 + 16 * i,
           "module_offset": 0x1000 + 16 * i} for i in range(functions)]
traces, seen = [], set()
while len(traces) < stacks:
    depth = random.randint(12, 24)
    # a realistic shape: few roots, more variety towards the leaves
    chain = tuple(random.randrange(min(functions, 4 + 40 * level * level)) for level in range(depth))
    if chain in seen:
        continue
    seen.add(chain)
    size = random.choice([16, 32, 64, 256, 4096]) * random.randint(1, 50)
    count = random.randint(1, 50)
    traces.append({"count": count, "domain": 0, "frames": list(reversed(chain)), "size": size,
                   "total_allocations": count * 3, "total_bytes": size * 3, "temporary_allocations": count,
                   "truncated": False})
live = sum(t["size"] for t in traces)
doc = {"format": "heapsnap-snapshot", "version": 1, "frames": frames,
       "info": {"arguments": ["/srv/app/server"], "current_bytes": live, "executable": "/srv/app/server",
                "format_version": 2, "live_blocks": sum(t["count"] for t in traces), "max_frames": 64,
                "peak_bytes": live, "pid": 4711, "ppid": 1, "sequence": 1, "start_ns": 1796000000000000000,
                "time_ns": 1796000001000000000, "total_allocations": 0, "total_bytes": 0,
                "tracker_bytes": 1 << 24, "trigger": "api", "untracked_frees": 0},
       "modules": [{"build_id": "ab", "has_debug_info": True, "load_bias": 0x555500000000, "main_executable": True,
                    "path": "/srv/app/server", "unloaded": False}],
       "traces": traces}
json.dump(doc, open(path, "w"))
PY
start=$(date +%s.%N)
"$cli" report "$work/stacks.json" -o "$work/stacks.html"
end=$(date +%s.%N)
write=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
result=$(python3 "$here/../Tests/Browser/report_driver.py" "$(command -v chromium)" "$work/stacks.html" "$work/stacks.png" handler_0)
python3 - "$result" "$write" "$stacks" "$(stat -c %s "$work/stacks.html")" <<'PY'
import json, sys
r, write, stacks, size = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
verdict = "MET" if r.get("ready") and r["open_seconds"] < 2 and not r["errors"] else "MISSED"
print(f"   {stacks} distinct stacks: heapsnap report {write} s, page {size / 1048576:.1f} MiB; Chromium opened and drew it"
      f" in {r['open_seconds']:.2f} s (script done {r['render_ms'] / 1000:.2f} s after navigation start),"
      f" {len(r['errors'])} errors, {len(r['requests'])} requests: {verdict} (target < 2 s)")
PY
