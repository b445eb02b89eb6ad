#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol (--remote-debugging-pipe: JSON messages ending
in NUL on file descriptors 3 and 4) to check a `heapsnap report` page the way a person uses it.

usage: report_driver.py CHROMIUM REPORT.html SCREENSHOT.png [CLICK_FRAME]

Prints one JSON object: how long the page took to be drawn, console errors and exceptions, requests
other than the file itself, the header's totals, the table's first rows (then sorted by Calls), the
hover tooltip and zoom path after a real mouse click on CLICK_FRAME in the flame graph, and a search.
A watchdog ends everything after 90 s so a hang fails the caller instead of blocking it."""
import json, os, signal, subprocess, sys, tempfile, time

chromium, report, screenshot = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
click_frame = sys.argv[4] if len(sys.argv) > 4 else None
url = "file://" + report

to_browser_read, to_browser_write = os.pipe()
from_browser_read, from_browser_write = os.pipe()
profile = tempfile.mkdtemp(prefix="heapsnap-chromium-")

def plumb():
    os.dup2(to_browser_read, 3)
    os.dup2(from_browser_write, 4)

browser = subprocess.Popen(
    [chromium, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
     "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
     "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile, "--window-size=1280,1400",
     "about:blank"],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    preexec_fn=plumb, pass_fds=(3, 4))  # preexec_fn runs before the other descriptors are closed
os.close(to_browser_read)
os.close(from_browser_write)

def watchdog(*_):
    browser.kill()
    print(json.dumps({"error": "timed out after 90 s"}))
    os._exit(3)
signal.signal(signal.SIGALRM, watchdog)
signal.alarm(90)

pending = b""
events = []
next_id = 0

def read_message():
    global pending
    while b"\0" not in pending:
        chunk = os.read(from_browser_read, 1 << 20)
        if not chunk:
            raise SystemExit("chromium closed the pipe")
        pending += chunk
    message, pending = pending.split(b"\0", 1)
    return json.loads(message)

def call(method, params=None, session=None):
    global next_id
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session:
        message["sessionId"] = session
    os.write(to_browser_write, json.dumps(message).encode() + b"\0")
    while True:
        reply = read_message()
        if reply.get("id") == next_id:
            if "error" in reply:
                raise SystemExit(f"{method}: {reply['error']}")
            return reply.get("result", {})
        events.append(reply)

def wait_for(method, session):
    while True:
        for index, event in enumerate(events):
            if event.get("method") == method and event.get("sessionId") == session:
                return events.pop(index)
        events.append(read_message())

target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
for domain in ["Runtime", "Log", "Network", "Page"]:
    call(domain + ".enable", {}, session)
call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 1400, "deviceScaleFactor": 1, "mobile": False}, session)

def evaluate(expression):
    result = call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session)
    if "exceptionDetails" in result:
        raise SystemExit("evaluate failed: " + json.dumps(result["exceptionDetails"])[:500])
    return result["result"].get("value")

started = time.monotonic()
call("Page.navigate", {"url": url}, session)
wait_for("Page.loadEventFired", session)
while not evaluate("!!(window.heapsnapReport && window.heapsnapReport.ready)"):
    if time.monotonic() - started > 60:
        break
    time.sleep(0.02)
opened = time.monotonic() - started

result = {
    "open_seconds": round(opened, 3),
    "render_ms": evaluate("window.heapsnapReport ? window.heapsnapReport.renderMs : null"),
    "timings": evaluate("window.heapsnapReport ? window.heapsnapReport.timings : null"),
    "ready": evaluate("!!(window.heapsnapReport && window.heapsnapReport.ready)"),
    "totals": evaluate("Object.fromEntries([...document.querySelectorAll('.card .value')].map(e => [e.id, e.textContent]))"),
    "table_heading": evaluate("document.querySelector('#table-section h2').textContent"),
    "rows": evaluate("[...document.querySelectorAll('#top tbody tr')].slice(0, 5).map(r => [...r.children].map(c => c.textContent))"),
    "has_diff": evaluate("!!document.getElementById('diff-flame')"),
    "has_chart": evaluate("!!document.getElementById('chart')"),
    "chart_lines": evaluate("[...document.querySelectorAll('#chart polyline')].length"),
    "chart_peak": evaluate("[...document.querySelectorAll('#chart .peak-label')].map(e => e.textContent)"),
    "names_note": evaluate("(document.getElementById('names-note') || {}).textContent || null"),
}

# The page as it first appears, before any interaction.
import base64
shot = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)
with open(screenshot, "wb") as out:
    out.write(base64.b64decode(shot["data"]))

if click_frame:
    rect = evaluate("window.heapsnapReport.graphs.flame.rectOf(%s)" % json.dumps(click_frame))
    result["click_rect"] = rect
    if rect:
        point = {"x": rect["x"], "y": rect["y"]}
        call("Input.dispatchMouseEvent", dict(type="mouseMoved", **point), session)
        result["tooltip"] = evaluate("document.getElementById('flame-tip').textContent")
        for kind in ["mousePressed", "mouseReleased"]:
            call("Input.dispatchMouseEvent", dict(type=kind, button="left", clickCount=1, **point), session)
        result["zoom_path"] = evaluate("window.heapsnapReport.graphs.flame.zoomPath()")
        result["zoomed_width"] = evaluate("window.heapsnapReport.graphs.flame.rectOf(%s).width" % json.dumps(click_frame))
        result["page_width"] = evaluate("document.getElementById('flame').clientWidth")
        call("Input.dispatchMouseEvent", dict(type="mouseMoved", x=5, y=5), session)
        evaluate("document.getElementById('flame-reset').click()")

evaluate("(() => { const s = document.getElementById('flame-search'); s.value = %s; s.dispatchEvent(new Event('input')); })()"
         % json.dumps(click_frame or "main"))
result["search"] = evaluate("document.getElementById('flame-matched').textContent")
evaluate("[...document.querySelectorAll('#top th')].find(t => t.textContent.startsWith('Calls')).click()")
result["rows_by_calls"] = evaluate("[...document.querySelectorAll('#top tbody tr')].slice(0, 3).map(r => [...r.children].map(c => c.textContent))")


# Drain what arrived meanwhile, then sort the events out.
errors, requests = [], []
for event in events:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        errors.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:300])
    elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
        errors.append("console." + params["type"] + ": " + json.dumps(params.get("args"))[:300])
    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        errors.append("log: " + params["entry"].get("text", ""))
    elif method == "Network.requestWillBeSent":
        requested = params.get("request", {}).get("url", "")
        if requested != url and not requested.startswith("data:"):
            requests.append(requested)
result["errors"] = errors
result["requests"] = requests

try:
    call("Browser.close")
except SystemExit:
    pass
try:
    browser.wait(timeout=10)
except subprocess.TimeoutExpired:
    browser.kill()
subprocess.run(["rm", "-rf", profile])
print(json.dumps(result))
