# Calls the test's C extension (built into the folder named by NATIVE_EXT_DIR), then asks heapsnap for
# a snapshot while the extension's blocks are live.
import os
import sys

sys.path.insert(0, os.environ["NATIVE_EXT_DIR"])
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))
import compare_checkpoint  # noqa: E402
import native_ext  # noqa: E402


def build_cache():
    return native_ext.grab(100, 4096)  # SITE:ext-call


build_cache()
compare_checkpoint.checkpoint()
native_ext.release()
