#!/usr/bin/env bash
# The Python workload of `make bench` (Benchmarks/python_workload.py under Debian's python3.11 with
# PYTHONMALLOC=malloc): plain, heapsnap with Python frames, heapsnap with HEAPSNAP_PYTHON=0,
# tracemalloc (-X tracemalloc=25) and memray (PyPI, in a venv under WORK_DIR). Interleaved runs, the
# median of BENCH_REPEAT; CPU seconds (user+sys). The cost of Python frames is the paired ratio
#   (heapsnap - plain) / (heapsnap without Python frames - plain) - 1   (target: at most 20 %).
#
# usage: python.sh LIBHEAPSNAP WORK_DIR
set -uo pipefail
lib=$(readlink -f "$1")
work=$(mkdir -p "$2" && cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
python=${BENCH_PYTHON:-/usr/bin/python3.11}
rounds=${BENCH_PYTHON_ROUNDS:-40000}
repeat=${BENCH_REPEAT:-5}
[[ -x $python ]] || { echo "bench: $python is missing (make test installs python3.11)"; exit 1; }

calc() { awk "BEGIN { printf \"%s\", $1 }" </dev/null; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

venv=$work/python-venv
if [[ ! -x $venv/bin/memray ]]; then
    echo "== installing memray from PyPI into $venv"
    "$python" -m venv "$venv" && "$venv/bin/pip" install -q memray >/dev/null 2>&1 ||
        echo "bench: could not install memray; its column stays empty"
fi

runs=$work/python-runs
rm -rf "$runs" && mkdir -p "$runs"
script=$here/python_workload.py
# BENCH_PYTHON_TOOLS: a subset, for more rounds of the paired ratio alone ("plain heapsnap no_python_frames")
tools=${BENCH_PYTHON_TOOLS:-plain heapsnap no_python_frames tracemalloc memray}
echo
echo "== python: $script $rounds rounds under $("$python" -VV | head -1), PYTHONMALLOC=malloc; median of $repeat interleaved runs"
for ((run = 1; run <= repeat; run++)); do
    for tool in $tools; do
        out=$runs/$tool-$run
        mkdir -p "$out"
        case $tool in
        plain) cmd=(env PYTHONMALLOC=malloc "$python" "$script" "$rounds") ;;
        heapsnap) cmd=(env PYTHONMALLOC=malloc LD_PRELOAD="$lib" HEAPSNAP_DIR="$out" "$python" "$script" "$rounds") ;;
        no_python_frames) cmd=(env PYTHONMALLOC=malloc LD_PRELOAD="$lib" HEAPSNAP_DIR="$out" HEAPSNAP_PYTHON=0 "$python" "$script" "$rounds") ;;
        tracemalloc) cmd=(env PYTHONMALLOC=malloc "$python" -X tracemalloc=25 "$script" "$rounds") ;;
        memray)
            [[ -x $venv/bin/memray ]] || continue
            cmd=(env PYTHONMALLOC=malloc "$venv/bin/python" -m memray run -q -o "$out/out.bin" "$script" "$rounds") ;;
        esac
        /usr/bin/time -f '%e %U %S %M' -o "$out/time" "${cmd[@]}" >"$out/log" 2>&1 || echo "bench: $tool run $run failed: $(tail -2 "$out/log")"
        read -r wall user sys rss <"$out/time"
        echo "$(calc "$user + $sys") $wall $rss" >"$out/figures"
    done
done

allocations=$(ls "$runs"/heapsnap-1/*.heapsnap 2>/dev/null | head -1)
count=""
[[ -n $allocations && -x ${HEAPSNAP_CLI:-} ]] &&
    count=$("$HEAPSNAP_CLI" info "$allocations" | sed -n 's/^Allocations *\([0-9]*\) since start.*/\1/p')
declare -A cpu wall rss
for tool in $tools; do
    cpu[$tool]=$(for f in "$runs"/$tool-*/figures; do [[ -f $f ]] && cut -d' ' -f1 "$f"; done | median)
    wall[$tool]=$(for f in "$runs"/$tool-*/figures; do [[ -f $f ]] && cut -d' ' -f2 "$f"; done | median)
    rss[$tool]=$(for f in "$runs"/$tool-*/figures; do [[ -f $f ]] && cut -d' ' -f3 "$f"; done | median)
done
printf '%-18s %9s %9s %10s %14s\n' tool "cpu s" "wall s" "max RSS" "ns/allocation"
for tool in $tools; do
    per=""
    if [[ -n $count && $tool != plain && ${cpu[$tool]} != nan ]]; then
        per=$(calc "(${cpu[$tool]} - ${cpu[plain]}) * 1e9 / $count")
        per=$(printf '%.0f' "$per")
    fi
    printf '%-18s %9s %9s %7s MiB %14s\n' "$tool" "${cpu[$tool]}" "${wall[$tool]}" "$(calc "${rss[$tool]} / 1024" | cut -d. -f1)" "$per"
done
[[ -n $count ]] && echo "allocations per run (heapsnap's count): $count"
# paired ratio, run by run (same round of the interleaving), then the median, and a distribution-free
# 95 % interval of that median (Benchmarks/interval.awk: with n runs the k-th
# smallest and largest, k the largest with P(Binomial(n, 1/2) <= k - 1) <= 2.5 %; n >= 6 needed)
ratios=$(for ((run = 1; run <= repeat; run++)); do
    p=$(cut -d' ' -f1 "$runs/plain-$run/figures"); h=$(cut -d' ' -f1 "$runs/heapsnap-$run/figures")
    n=$(cut -d' ' -f1 "$runs/no_python_frames-$run/figures")
    calc "($h - $p) / ($n - $p) - 1"; echo
done)
echo "$ratios" | awk "$(cat "$here/interval.awk")"'
$1 != "" { v[++n] = $1 * 100 } END {
    sort_values(v, n); m = sorted_median(v, n)
    k = rank(n)
    if (k < 1) { interval = "too few runs for an interval"; verdict = (m <= 20 ? "MET" : "MISSED") " (by the median)" }
    else {
        interval = sprintf("95 %% interval of the median %+.0f %% to %+.0f %%", v[k], v[n + 1 - k])
        verdict = interval_verdict(v[k], v[n + 1 - k], 20)
    }
    printf "Python frames add %d %% to heapsnap'"'"'s own cost per allocation (median of %d paired runs, %s; target <= 20 %%): %s\n", m, n, interval, verdict
}'
