# Run under the tracker by PythonFramesTests with PYTHONMALLOC=malloc: allocations of known sizes
# from known Python frames, then one snapshot (argv[1]) while all of them are alive. Prints what the
# test cannot see in the snapshot itself ("reused" when a freed code object's address was taken by
# a new code object).
import ctypes
import sys
import threading
import types

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
snapshot = ctypes.CDLL(None).heapsnap_snapshot
snapshot.argtypes = [ctypes.c_char_p]
kept = []


class Holder:
    def build(self):
        return inner_build()


def inner_build():
    return bytearray(7_340_032)


def make_block(x):
    kept.append(bytearray(3_145_738))  # run by sorted(), a C function: its own evaluation loop
    return x


def native_worker():
    kept.append(libc.malloc(5_242_883))  # ctypes releases the GIL around the call


def doomed_then_reborn():
    # Functions of one shape: each "doomed" runs once, leaves a block alive (2 MiB + 16 * attempt) and
    # is freed with its code object; "reborn" is made right after from a template of the same size,
    # so glibc tends to hand it the freed code object's memory. Returns the attempt where it did.
    source = "def {0}():\n    return bytearray({1})\n"
    for attempt in range(50):
        namespace = {}
        exec(compile(source.format("doomed", 2_097_168 + 16 * attempt), "<doomed>", "exec"), namespace)
        exec(compile(source.format("template", 1_048_598), "<reborn>", "exec"), namespace)
        doomed = namespace.pop("doomed")
        template = namespace.pop("template").__code__
        kept.append(doomed())
        old = id(doomed.__code__)
        del doomed, namespace
        candidates = [template.replace(co_name="reborn", co_qualname="reborn") for _ in range(64)]
        code = next((c for c in candidates if id(c) == old), None)
        del candidates
        if code is not None:
            reborn = types.FunctionType(code, globals())
            kept.append(reborn())
            kept.append(reborn)
            return attempt
    return None


def main():
    kept.append(Holder().build())
    sorted([1], key=make_block)
    worker = threading.Thread(target=native_worker)
    worker.start()
    worker.join()
    attempt = doomed_then_reborn()
    print("not reused" if attempt is None else f"reused at attempt {attempt}")
    if snapshot(sys.argv[1].encode()) != 0:
        raise SystemExit("heapsnap_snapshot failed")


main()
