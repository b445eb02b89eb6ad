# Allocations of known shapes, kept alive until one checkpoint where heapsnap and tracemalloc both
# look (compare_checkpoint.py). Automatic garbage collection is off so both runs free the same things
# at the same moments. Lines marked SITE:<name> are the sites the test names.
import gc
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_checkpoint  # noqa: E402
import scenario_module  # noqa: E402

gc.disable()
HERE = os.path.dirname(os.path.abspath(__file__))


class WithDict:
    def __init__(self, i):
        self.name = "dict-object-%06d" % i  # SITE:dict-attr
        self.values = [i, i + 1, i + 2]  # SITE:dict-list


class WithSlots:
    __slots__ = ("a", "b")

    def __init__(self, i):
        self.a = None
        self.b = "s" * 100 + str(i)  # SITE:slots-str


def objects():
    dicts = [WithDict(i) for i in range(3000)]  # SITE:dict-objects
    slots = [WithSlots(i) for i in range(3000)]  # SITE:slots-objects
    return dicts, slots


def strings():
    return ["line %d %s" % (i, "y" * 50) for i in range(5000)]  # SITE:comprehension


def bytearrays():
    out = []
    for i in range(300):
        b = bytearray(1000)  # SITE:bytearray
        b.extend(b"z" * 3000)  # SITE:bytearray-grow
        out.append(b)
    return out


def generator(n):
    for i in range(n):
        yield ("gen", i, "g" * 80 + str(i))  # SITE:generator


def cycles():
    for i in range(1500):
        node = {"id": i, "name": "n" * 40 + str(i)}  # SITE:cycle
        node["self"] = [node]  # SITE:cycle-list
    # Unreachable now, but with the collector off they stay live: both tools must see them.


def in_thread(store):
    def work():
        store.extend("t" * 90 + str(i) for i in range(2500))  # SITE:thread
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


EXEC_SOURCE = """
made = [str(i) * 20 for i in range(2000)]
"""

DOOMED_SOURCE = """
def doomed(n):
    return [("doomed", i, "d" * 30 + str(i)) for i in range(n)]
"""


def exec_code():
    namespace = {}
    exec(compile(EXEC_SOURCE, "<exec-code>", "exec"), namespace)
    return namespace["made"]


def deleted_function():
    # The function and its code objects are freed here; the list they built stays live. Another code
    # object made afterwards may reuse the address: its allocations must keep their own file.
    namespace = {}
    exec(compile(DOOMED_SOURCE, os.path.join(HERE, "doomed_code.py"), "exec"), namespace)
    kept = namespace["doomed"](2000)
    del namespace
    other = {}
    exec(compile(DOOMED_SOURCE.replace("doomed", "other"), os.path.join(HERE, "other_code.py"), "exec"), other)
    kept.extend(other["other"](1000))
    del other
    return kept


keep = []
keep.append(objects())
keep.append(strings())
keep.append(bytearrays())
keep.append(list(generator(3000)))
cycles()
thread_store = []
in_thread(thread_store)
keep.append(scenario_module.load(2500))
keep.append(exec_code())
keep.append(deleted_function())
compare_checkpoint.checkpoint()
