# The deep-stack Python workload for the tracker's own memory (issue 11 item 2): 2,048 distinct call
# paths, each about 50 Python frames deep (36 shared outer levels, then 11 levels that pick one of two
# functions by a bit of the path, then the leaf and its list comprehension), under CPython's ~20-frame
# native interpreter stack. Each path keeps a list of 48 bytes objects: about 100,000 live blocks and
# 8,000 distinct stacks (the list, its growth and the bytes objects, per path). Run with PYTHONMALLOC=malloc under LD_PRELOAD=libheapsnap.so;
# prints the tracker's own memory (heapsnap_tracker_memory()) with everything still live.
import ctypes
import sys

OUTER = 36
BITS = 11
SIZES = tuple(16 + (k * 37) % 200 for k in range(48))
keep = []


def leaf(path):
    keep.append([bytes(size) for size in SIZES])


def pick_a(level, path):
    if level == BITS:
        return leaf(path)
    if (path >> level) & 1:
        return pick_b(level + 1, path)
    return pick_a(level + 1, path)


def pick_b(level, path):
    if level == BITS:
        return leaf(path)
    if (path >> level) & 1:
        return pick_b(level + 1, path)
    return pick_a(level + 1, path)


def outer(level, path):
    if level == OUTER:
        return pick_a(0, path)
    return outer(level + 1, path)


def main():
    for path in range(1 << BITS):
        outer(0, path)
    blocks = sum(len(b) + 1 for b in keep)
    lib = ctypes.CDLL(None)
    try:
        memory = lib.heapsnap_tracker_memory
    except AttributeError:
        print("python_memory: heapsnap is not preloaded", file=sys.stderr)
        return 1
    memory.restype = ctypes.c_size_t
    tracker_bytes = memory()
    if len(sys.argv) > 1:  # a snapshot of this state, for counting its stacks
        lib.heapsnap_snapshot(sys.argv[1].encode())
    print("python_memory: paths=%d kept_objects=%d tracker_bytes=%d" % (1 << BITS, blocks, tracker_bytes))
    return 0


sys.exit(main())
