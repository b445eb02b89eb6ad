#!/usr/bin/env python3
"""Runs one CPython test module with regrtest (PYTHON -m test -v MODULE) and prints its outcome as one
JSON line: {"module", "status", "run", "failures", "errors", "skipped", "expected_failures",
"unexpected_successes", "not_ok": [test ids that failed or erred], "seconds"}. The environment is passed
through, so LD_PRELOAD=libheapsnap.so traces the interpreter and every process it starts.

usage: regrtest_counts.py PYTHON MODULE TIMEOUT_SECONDS LOG_FILE
Used by Tests/TrackTests/CPythonSuiteTests.swift; other suites may call it the same way."""
import json, re, signal, subprocess, sys, time

python, module, timeout, log = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
# The test runner may start us from a thread that blocks signals, or with some ignored: regrtest's
# signal tests expect what a shell gives, so both runs (with and without the tracker) start from that.
signal.pthread_sigmask(signal.SIG_SETMASK, [])
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
    if signal.getsignal(number) == signal.SIG_IGN:
        signal.signal(number, signal.SIG_DFL)
started = time.monotonic()
with open(log, "wb") as out:
    try:
        # regrtest's own --timeout dumps the stacks of a hung test before killing it
        proc = subprocess.run([python, "-m", "test", "-v", "--timeout", str(int(timeout)), module],
                              stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout + 60)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        status = "timeout"
text = open(log, encoding="utf-8", errors="replace").read()
counts = {"run": 0, "failures": 0, "errors": 0, "skipped": 0, "expected_failures": 0, "unexpected_successes": 0}
ran = re.findall(r"^Ran (\d+) tests? in ", text, re.M)
if ran:
    counts["run"] = sum(int(n) for n in ran)
for summary in re.findall(r"^(?:OK|FAILED) \((.*)\)$", text, re.M):
    for key, value in re.findall(r"(\w+)=(\d+)", summary):
        counts[key] = counts.get(key, 0) + int(value)
not_ok = sorted(set(re.findall(r"^(?:FAIL|ERROR): (\S+ \([^)]*\))", text, re.M)))
print(json.dumps({"module": module, "status": status, **counts, "not_ok": not_ok,
                  "seconds": round(time.monotonic() - started, 1)}))
