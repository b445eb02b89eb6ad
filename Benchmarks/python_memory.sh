#!/usr/bin/env bash
# The tracker's own memory on a deep-stack Python workload (Benchmarks/python_memory.py under Debian's
# python3.11, PYTHONMALLOC=malloc): heapsnap_tracker_memory() with ~114,000 live blocks and ~25,000
# distinct stacks, for LIBHEAPSNAP and, when given, a BASELINE library (e.g. an older build) beside it.
# PYTHONHASHSEED=0: string hashing changes dict sizes, so allocations and stacks, from run to run.
# Also the churn workload's bytes per additional live block (10,000 vs 100,000 live blocks).
#
# usage: python_memory.sh WORK_DIR LIBHEAPSNAP [BASELINE_LIBHEAPSNAP]
set -uo pipefail
work=$(mkdir -p "$1" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
python=${BENCH_PYTHON:-/usr/bin/python3.11}
[[ -x $python ]] || { echo "bench: $python is missing (make test installs python3.11)"; exit 1; }
gcc -O2 -g -fno-omit-frame-pointer -pthread -o "$work/churn" "$here/churn.c" -ldl || { echo "bench: cannot build churn"; exit 1; }
field() { sed -n "s/.*[ :]$1=\\([^ ]*\\).*/\\1/p" "$2" | tail -1; }
for lib in "${@:2}"; do
    lib=$(readlink -f "$lib")
    rm -rf "$work/snapshots" && mkdir -p "$work/snapshots"
    HEAPSNAP_DIR="$work/snapshots" PYTHONMALLOC=malloc PYTHONHASHSEED=0 LD_PRELOAD="$lib" "$python" "$here/python_memory.py" \
        "$work/snapshots/state.heapsnap" >"$work/python.log" 2>&1
    py=$(field tracker_bytes "$work/python.log")
    HEAPSNAP_DIR="$work/snapshots" LD_PRELOAD="$lib" "$work/churn" 1 200000 10000 >"$work/small.log" 2>&1
    HEAPSNAP_DIR="$work/snapshots" LD_PRELOAD="$lib" "$work/churn" 1 200000 100000 >"$work/big.log" 2>&1
    small=$(field tracker_bytes "$work/small.log") big=$(field tracker_bytes "$work/big.log")
    awk -v lib="$lib" -v py="$py" -v s="$small" -v b="$big" 'BEGIN {
        printf "%s\n  python deep stacks: %.2f MiB of tracker memory\n  churn: %.1f B per additional live block (%.2f MiB at 10,000, %.2f MiB at 100,000)\n",
            lib, py / 1048576, (b - s) / 90000, s / 1048576, b / 1048576 }'
done
rm -rf "$work/snapshots"
