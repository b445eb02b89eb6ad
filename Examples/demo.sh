#!/usr/bin/env bash
# The bundled demo (`make demo`): build the leaky cache example, run it under the tracker, then show
# its top sites, what changed between its first and last round, and what grows steadily.
#   usage: bash Examples/demo.sh HEAPSNAP_BINARY WORK_DIR
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 HEAPSNAP_BINARY WORK_DIR" >&2
    exit 2
fi
heapsnap="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
examples="$(cd "$(dirname "$0")" && pwd)"
work="$2"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
snapshots="$work/snapshots"
rm -rf "$snapshots"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
    step() { printf '\n$ %s\n' "$*"; }
fi

cc -g -O0 -o "$work/leaky_cache" "$examples/leaky_cache.c" -ldl

# Three rounds of 2000 requests; the example calls heapsnap_snapshot() after each round.
step heapsnap run --dir "$snapshots" -- leaky_cache 3 2000
"$heapsnap" run --dir "$snapshots" -n 5 -- "$work/leaky_cache" 3 2000

mapfile -t rounds < <(ls "$snapshots"/leaky_cache.*.000[1-3].heapsnap | sort)
if [ "${#rounds[@]}" -ne 3 ]; then
    echo "demo: expected 3 round snapshots in $snapshots, found ${#rounds[@]}" >&2
    exit 1
fi

cd "$examples/.."
step heapsnap top "${rounds[2]##*/}" -n 5
"$heapsnap" top "${rounds[2]}" -n 5

step heapsnap diff "${rounds[0]##*/}" "${rounds[2]##*/}" -n 5
"$heapsnap" diff "${rounds[0]}" "${rounds[2]}" -n 5

step heapsnap growth "${rounds[0]##*/}" "${rounds[1]##*/}" "${rounds[2]##*/}" -n 3
"$heapsnap" growth "${rounds[@]}" -n 3

step heapsnap top "${rounds[2]##*/}" --by traceback -n 1
"$heapsnap" top "${rounds[2]}" --by traceback -n 1

step heapsnap report "${rounds[0]##*/}" "${rounds[1]##*/}" "${rounds[2]##*/}" -o report.html
"$heapsnap" report "${rounds[@]}" -o "$work/report.html"
echo "wrote $work/report.html: flame graphs, a memory chart and the top table in one file"

printf '\nThe snapshots are in %s; try `%s info` or `%s top --by function` on them.\n' \
    "$snapshots" "$heapsnap" "$heapsnap"
