# The Python workload of `make bench`: a parser-like program that builds and drops small objects
# (dicts, lists, strings, tuples) a dozen Python frames deep, keeping a bounded live set, so that
# most of its allocations are malloc calls (with PYTHONMALLOC=malloc) made under Python frames.
import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 40000
live = []


def leaf(i):
    record = {"id": i, "name": "item-%d" % i, "tags": [str(i % 7), str(i % 11)]}
    return record


def level(depth, i):
    if depth == 0:
        return leaf(i)
    return level(depth - 1, i)


class Builder:
    def build(self, i):
        return level(8, i)

    def batch(self, start):
        return [self.build(start + k) for k in range(10)]


def main():
    builder = Builder()
    for r in range(ROUNDS):
        items = builder.batch(r * 10)
        live.append(items)
        if len(live) > 1000:
            del live[: len(live) // 2]
    print(len(live))


main()
