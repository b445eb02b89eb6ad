# The moment both tools look at the heap. Under heapsnap (HEAPSNAP_COMPARE unset) it asks the preloaded
# tracker for a snapshot through ctypes; under tracemalloc (HEAPSNAP_COMPARE=tracemalloc, the script run
# with -X tracemalloc) it writes tracemalloc's statistics by line as JSON to HEAPSNAP_COMPARE_OUT.
# Kept in a file of its own so that its own allocations are never on the lines being compared.
import ctypes
import json
import os
import tracemalloc


def checkpoint():
    if os.environ.get("HEAPSNAP_COMPARE") == "tracemalloc":
        snapshot = tracemalloc.take_snapshot()
        stats = [{"file": s.traceback[0].filename, "line": s.traceback[0].lineno, "size": s.size, "count": s.count}
                 for s in snapshot.statistics("lineno")]
        with open(os.environ["HEAPSNAP_COMPARE_OUT"], "w") as out:
            json.dump(stats, out)
    else:
        take = ctypes.CDLL(None).heapsnap_snapshot
        take.argtypes = [ctypes.c_char_p]
        if take(None) != 0:
            raise SystemExit("heapsnap_snapshot failed")
