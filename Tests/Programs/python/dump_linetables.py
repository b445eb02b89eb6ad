# Dumps, for many real code objects, what heapsnap's line-table decoder needs (co_linetable,
# co_firstlineno) and what the interpreter itself answers (co_lines(), co_positions()), one JSON
# object a line, so the test can compare every instruction offset.
#   python dump_linetables.py OUT.jsonl [EXTRA_SOURCE.py ...]
import json
import os
import sys
import sysconfig


def code_objects(code):
    yield code
    for const in code.co_consts:
        if hasattr(const, "co_linetable"):
            yield from code_objects(const)


def sources(extra):
    stdlib = sysconfig.get_paths()["stdlib"]
    names = sorted(n for n in os.listdir(stdlib) if n.endswith(".py"))
    # Every fourth module of the standard library (a wide mix of real code), and the packages asyncio,
    # json and email in full.
    chosen = [os.path.join(stdlib, n) for n in names[::4]]
    for package in ("asyncio", "json", "email"):
        folder = os.path.join(stdlib, package)
        chosen += [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".py")]
    return chosen + list(extra)


def main():
    out_path, extra = sys.argv[1], sys.argv[2:]
    count = 0
    with open(out_path, "w") as out:
        for path in sources(extra):
            try:
                with open(path, "rb") as f:
                    top = compile(f.read(), path, "exec")
            except (SyntaxError, ValueError, OSError):
                continue
            for code in code_objects(top):
                units = len(code.co_code) // 2
                positions = [p[0] for p in code.co_positions()]
                out.write(json.dumps({
                    "file": path,
                    "name": code.co_qualname,
                    "firstlineno": code.co_firstlineno,
                    "linetable": code.co_linetable.hex(),
                    "units": units,
                    "lines": [[s, e, l] for s, e, l in code.co_lines()],
                    "positions": positions,
                }) + "\n")
                count += 1
    print(count)


main()
