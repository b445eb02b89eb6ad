#!/usr/bin/env bash
# Where heapsnap's time per allocation goes: builds variants of libheapsnap.so from Sources/Track with
# one part switched off at a time and runs the churn workload under each, interleaved, median of
# REPEAT rounds. A local experiment, not part of `make bench`: the variants are made by textual edits
# of Sources/Track/hooks.c, so when that code changes the edits may stop matching, and the script
# says so and stops instead of measuring something else.
#
#   full         the real tracker
#   no-live      stack capture + interning, but no live table (malloc does not insert, free does not look up)
#   no-intern    stack capture only (no interning, no live table)
#   no-unwind    interning + live table of one-frame stacks (the direct caller): the bookkeeping alone
#
# usage: breakdown.sh WORK_DIR [THREADS [ALLOCATIONS_PER_THREAD [REPEAT]]]
set -euo pipefail
work=$(mkdir -p "$1" && cd "$1" && pwd)
threads=${2:-1} allocations=${3:-2000000} repeat=${4:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
hooks=$root/Sources/Track/hooks.c

unwind_on='    if (backtrace) {'
intern_on='    uint32_t id = hs_intern(domain, frames, depth, truncated, &stack);'
insert_on='    return hs_live_insert(domain, address, size, id, stack, true);'
remove_on='    hs_live_remove(0, (uintptr_t)p, &removed, true);'
for line in "$unwind_on" "$intern_on" "$insert_on" "$remove_on"; do
    grep -qxF "$line" "$hooks" || { echo "breakdown: $hooks no longer has the line: $line" >&2; exit 1; }
done

# variant NAME, then pairs of (line, replacement)
variant() {
    local name=$1 dir=$work/src-$1
    shift
    rm -rf "$dir" && cp -r "$root/Sources/Track" "$dir"
    while (($#)); do
        FROM=$1 TO=$2 perl -0pi -e 's/^\Q$ENV{FROM}\E$/$ENV{TO}/m' "$dir/hooks.c"
        shift 2
    done
    gcc -std=gnu11 -O2 -g -fPIC -fvisibility=hidden -ftls-model=initial-exec -fno-omit-frame-pointer \
        -Wno-unused-variable -Wno-unused-but-set-variable -I"$dir/include" -o "$work/libheapsnap-$name.so" \
        "$dir"/*.c -shared -Wl,-z,now -ldl -lpthread
}
variant full
variant no-live "$insert_on" '    (void)id; (void)stack; return 0;' "$remove_on" '    (void)removed;'
variant no-intern "$intern_on" '    uint32_t id = 0; stack = NULL; (void)frames;' \
    "$insert_on" '    (void)id; (void)stack; return 0;' "$remove_on" '    (void)removed;'
variant no-unwind "$unwind_on" '    if (0 && backtrace) {'
gcc -O2 -g -fno-omit-frame-pointer -pthread -o "$work/churn" "$here/churn.c" -ldl

variants="plain full no-live no-intern no-unwind"
: >"$work/breakdown-runs"
for ((run = 1; run <= repeat; run++)); do
    for v in $variants; do
        rm -rf "$work/snapshots" && mkdir -p "$work/snapshots"
        preload=""
        [[ $v != plain ]] && preload=$work/libheapsnap-$v.so
        /usr/bin/time -f '%U %S' -o "$work/time.out" env ${preload:+LD_PRELOAD=$preload} \
            HEAPSNAP_DIR="$work/snapshots" "$work/churn" "$threads" "$allocations" 10000 >/dev/null 2>&1
        echo "$v $run $(awk '{ print $1 + $2 }' "$work/time.out")" >>"$work/breakdown-runs"
    done
done
echo "churn, $threads thread(s), $allocations allocations per thread; added CPU per allocation against plain" \
    "(paired per round, median of $repeat)"
awk -v total=$((threads * allocations)) -v variants="$variants" '
    function median(list,    n, v, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    { cpu[$1, $2] = $3; if ($2 > rounds) rounds = $2 }
    END {
        n = split(variants, vs, " ")
        for (k = 2; k <= n; k++) {
            list = ""
            for (r = 1; r <= rounds; r++) list = list " " (cpu[vs[k], r] - cpu["plain", r]) * 1e9 / total
            printf "   %-10s %5.0f ns\n", vs[k], median(list)
        }
    }' "$work/breakdown-runs"
