# A large offline snapshot (Docs/SNAPSHOT-JSON.md) for timing the JSON reader and writer alone:
# 100,000 traces of 32 frames drawn from 20,000 frames in 30 modules. usage: make_json_snapshot.py OUT
import json, random, sys
random.seed(7)
frames = []
for i in range(20000):
    m = i % 30
    frames.append({"module": f"/usr/lib/libsymbench_{m}.so", "function": f"symbench_{m}_fn_{i}(int, char const*)",
                   "file": f"/src/symbench/lib{m}/file{i % 97}.c", "line": 1 + i % 900, "inlined": i % 5 == 0,
                   "address": 0x7f0000000000 + i * 16, "module_offset": i * 16 + 0x1000})
traces = []
for t in range(100000):
    traces.append({"count": 1, "domain": 0, "frames": [random.randrange(20000) for _ in range(32)], "size": 100,
                   "total_allocations": 1, "total_bytes": 100, "truncated": False})
doc = {"format": "heapsnap-snapshot", "version": 1,
       "info": {"format_version": 1, "pid": 1, "ppid": 0, "time_ns": 1795000000000000000, "start_ns": 1795000000000000000,
                "sequence": 1, "trigger": "api", "max_frames": 64, "current_bytes": 10000000, "peak_bytes": 10000000,
                "live_blocks": 100000, "total_allocations": 100000, "total_bytes": 10000000, "tracker_bytes": 0,
                "untracked_frees": 0, "executable": "/bin/x", "arguments": ["x"]},
       "modules": [{"path": f"/usr/lib/libsymbench_{m}.so", "build_id": "ab", "load_bias": 0, "has_debug_info": True,
                    "main_executable": m == 0, "unloaded": False} for m in range(30)],
       "frames": frames, "traces": traces}
json.dump(doc, open(sys.argv[1], "w"), separators=(",", ":"))
