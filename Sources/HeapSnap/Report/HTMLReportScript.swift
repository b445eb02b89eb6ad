// The script of `heapsnap report`'s page: plain JavaScript, no library, nothing loaded from anywhere.
// It reads the JSON that HTMLReport.swift embeds (id "heapsnap-data") and draws:
//   - the header (program, pid, time, totals, tracker cost);
//   - an icicle flame graph on a <canvas>: root at the top, callees below, each frame as wide as its
//     share of the chosen value; click zooms, hover explains, search highlights, allocator frames fold;
//   - with two snapshots or more, a diff flame graph (red grew, blue shrank) and an SVG chart of traced
//     memory over the series with the fastest-growing sites;
//   - the table of `heapsnap top`, sortable by any column, its text exactly as the CLI prints it.
// window.heapsnapReport exposes the state for tools and tests (ready, renderMs, rectOf, zoomPath).

enum HTMLReportScript {
    static let javascript = #"""
"use strict";
(function () {
  const timings = {};  // ms since navigation start at the end of each step, for `make bench`
  const data = JSON.parse(document.getElementById("heapsnap-data").textContent);
  timings.parsed = performance.now();
  const tree = data.tree, frames = data.frames;
  const newest = data.snapshots[data.snapshots.length - 1];
  const api = { ready: false, renderMs: 0, graphs: {}, timings };
  window.heapsnapReport = api;

  // ---- small helpers
  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "text") node.textContent = value; else node.setAttribute(key, value);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }
  // Sizes as the text report writes them (tracemalloc's units): 1023 B, 10.0 KiB, 1536 KiB.
  function formatSize(bytes) {
    let value = bytes;
    for (const unit of ["B", "KiB", "MiB", "GiB", "TiB"]) {
      if (Math.abs(value) < 100 && unit !== "B") return value.toFixed(1) + " " + unit;
      if (Math.abs(value) < 10 * 1024 || unit === "TiB") return value.toFixed(0) + " " + unit;
      value /= 1024;
    }
  }
  function hash(text) {
    let h = 2166136261;
    for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0) / 4294967296;
  }

  // ---- the tree: parents, children as linked lists, inclusive values per node, and which nodes are
  // allocator plumbing above every site below them (those fold away on request)
  const nodeCount = tree.frame.length;
  const parent = new Int32Array(nodeCount);
  parent[0] = -1;
  for (let i = 1; i < nodeCount; i++) parent[i] = i - tree.parentDelta[i];
  const firstChild = new Int32Array(nodeCount).fill(-1), nextSibling = new Int32Array(nodeCount).fill(-1);
  for (let i = nodeCount - 1; i >= 1; i--) { nextSibling[i] = firstChild[parent[i]]; firstChild[parent[i]] = i; }
  function inclusive(perLeaf) {
    const values = new Float64Array(nodeCount);
    if (!perLeaf) return null;
    tree.leaves.forEach((node, i) => { values[node] += perLeaf[i]; });
    for (let i = nodeCount - 1; i >= 1; i--) values[parent[i]] += values[i];
    return values;
  }
  const values = {};
  for (const name of ["size", "count", "calls", "allocated", "temporary", "oldSize"]) values[name] = inclusive(tree[name]);
  const foldable = new Uint8Array(nodeCount);
  {
    const hasSite = new Uint8Array(nodeCount);
    for (let i = nodeCount - 1; i >= 1; i--) {
      if (!frames.plumbing[tree.frame[i]]) hasSite[i] = 1;
      if (hasSite[i]) hasSite[parent[i]] = 1;
      foldable[i] = hasSite[i] ? 0 : 1;
    }
  }
  function nameOf(node) { return node === 0 ? "all" : frames.name[tree.frame[node]]; }
  function placeOf(node) { return node === 0 ? "" : frames.place[tree.frame[node]]; }

  timings.tree = performance.now();

  // ---- header
  const header = el("header", {}, [
    el("h1", { text: data.program + " (pid " + data.pid + ")" }),
    el("p", { class: "command", text: data.command }),
    el("p", { class: "when", text: data.snapshots.length === 1
      ? newest.name + ", " + newest.trigger + " at " + newest.time
      : data.snapshots.length + " snapshots, " + data.snapshots[0].name + " (" + data.snapshots[0].time + ") to "
        + newest.name + " (" + newest.time + ")" }),
  ]);
  if (data.namesNote) header.appendChild(el("p", { id: "names-note", class: "note", text: data.namesNote }));
  const cards = [
    ["total-live", "live", newest.sizeText], ["total-blocks", "blocks", String(newest.count)],
    ["total-peak", "peak", newest.peakText], ["total-calls", "allocation calls", String(newest.calls)],
    ["total-allocated", "allocated", newest.allocatedText],
    ["total-temporary", "temporary", String(newest.temporary)], ["tracker-cost", "tracker cost", newest.trackerCost],
  ];
  header.appendChild(el("div", { class: "cards" }, cards.map(([id, label, value]) =>
    el("div", { class: "card" }, [el("span", { class: "label", text: label }), el("span", { id: id, class: "value", text: value })]))));
  document.body.appendChild(header);

  // ---- flame graphs
  const measures = {
    size: { label: "live bytes", values: values.size, bytes: true },
    count: { label: "live blocks", values: values.count },
    calls: { label: "allocation calls", values: values.calls },
    allocated: { label: "allocated bytes", values: values.allocated, bytes: true },
    temporary: { label: "temporary allocations", values: values.temporary },
  };

  // One icicle on a canvas. `options.diff` draws max(old, new) wide, coloured by the change.
  function FlameGraph(id, title, options) {
    const self = this;
    const section = el("section", { id: id + "-section" }, [el("h2", { text: title })]);
    const controls = el("div", { class: "controls" });
    let measure = options.diff ? null : (measures[data.sort] ? data.sort : "size");
    if (!options.diff) {
      const select = el("select", { id: id + "-measure", "aria-label": "value" },
        Object.entries(measures).map(([key, m]) => el("option", { value: key, text: m.label })));
      select.value = measure;
      select.addEventListener("change", () => { measure = select.value; self.zoom(0); });
      controls.appendChild(select);
    }
    const search = el("input", { id: id + "-search", type: "search", placeholder: "search frames (regex)" });
    const foldBox = el("input", { id: id + "-fold", type: "checkbox" });
    const reset = el("button", { id: id + "-reset", text: "reset zoom" });
    const matched = el("span", { id: id + "-matched", class: "matched" });
    controls.append(search, el("label", {}, [foldBox, document.createTextNode(" fold allocator frames")]), reset, matched);
    const crumbs = el("div", { id: id + "-zoom", class: "crumbs" });
    const canvas = el("canvas", { id: id });
    const tip = el("div", { class: "tip", id: id + "-tip" });
    section.append(controls, crumbs, el("div", { class: "canvas-box" }, [canvas, tip]));
    if (options.legend) section.appendChild(el("p", { class: "legend", text: options.legend }));
    document.body.appendChild(section);

    const rowHeight = 18;
    let root = 0, rects = [], pattern = null;
    function value(node) {
      if (options.diff) return Math.max(values.size[node], values.oldSize[node]);
      return measures[measure].values[node];
    }
    function describe(amount) {
      const bytes = options.diff || measures[measure].bytes;
      return bytes ? formatSize(amount) + " (" + amount + " B)" : String(amount);
    }
    function visibleChildren(node) {
      const list = [];
      for (let c = firstChild[node]; c !== -1; c = nextSibling[c]) {
        if (value(c) > 0 && !(foldBox.checked && foldable[c])) list.push(c);
      }
      return list.sort((a, b) => value(b) - value(a));
    }
    // Rectangles of the zoomed subtree (its ancestors full width above it), pruned below 0.5 px.
    function layout(width) {
      rects = [];
      const ancestors = [];
      for (let n = root; n !== -1; n = n === 0 ? -1 : parent[n]) ancestors.unshift(n);
      ancestors.forEach((node, depth) => { if (node !== root) rects.push({ node, x: 0, w: width, depth }); });
      const base = ancestors.length - 1;
      const total = value(root) || 1;
      const stack = [[root, 0, width, base]];
      while (stack.length) {
        const [node, x, w, depth] = stack.pop();
        rects.push({ node, x, w, depth });
        let offset = x;
        for (const child of visibleChildren(node)) {
          const cw = (value(child) / total) * width;
          if (cw >= 0.5) stack.push([child, offset, cw, depth + 1]);
          offset += cw;
        }
      }
    }
    function color(node) {
      if (node === 0) return "#d9d9d9";
      if (options.diff) {
        const change = values.size[node] - values.oldSize[node];
        const scale = Math.min(1, Math.abs(change) / (maxChange || 1));
        if (change > 0) return "hsl(0, " + (40 + 50 * scale) + "%, " + (80 - 30 * scale) + "%)";
        if (change < 0) return "hsl(220, " + (40 + 50 * scale) + "%, " + (80 - 30 * scale) + "%)";
        return "#e0e0e0";
      }
      const f = tree.frame[node], h = hash(frames.name[f]);
      if (frames.plumbing[f]) return "hsl(0, 0%, " + (72 + 10 * h) + "%)";
      if (frames.kind[f] === "python") return "hsl(" + (195 + 35 * h) + ", 60%, " + (62 + 10 * h) + "%)";
      return "hsl(" + (12 + 36 * h) + ", 80%, " + (60 + 8 * h) + "%)";
    }
    let maxChange = 0;
    if (options.diff) for (let i = 1; i < nodeCount; i++) maxChange = Math.max(maxChange, Math.abs(values.size[i] - values.oldSize[i]));

    function draw() {
      const width = Math.max(300, canvas.parentNode.clientWidth);
      layout(width);
      const depth = rects.reduce((m, r) => Math.max(m, r.depth), 0) + 1;
      const ratio = window.devicePixelRatio || 1;
      canvas.width = width * ratio; canvas.height = depth * rowHeight * ratio;
      canvas.style.width = width + "px"; canvas.style.height = depth * rowHeight + "px";
      const g = canvas.getContext("2d");
      g.setTransform(ratio, 0, 0, ratio, 0, 0);
      g.font = "12px sans-serif"; g.textBaseline = "middle";
      let matchedValue = 0;
      const matchedNodes = new Set();
      for (const r of rects) {
        const hit = pattern && r.node !== 0 && pattern.test(nameOf(r.node));
        if (hit) matchedNodes.add(r.node);
        g.fillStyle = pattern && !hit ? "#eeeeee" : (hit ? "#e040fb" : color(r.node));
        g.fillRect(r.x, r.depth * rowHeight, Math.max(r.w - 1, 0.5), rowHeight - 1);
        if (r.w > 30) {
          g.fillStyle = "#000";
          const label = nameOf(r.node), room = Math.floor((r.w - 6) / 6.5);
          g.fillText(label.length > room ? label.slice(0, Math.max(room - 1, 1)) + "…" : label, r.x + 3, r.depth * rowHeight + rowHeight / 2);
        }
      }
      // A match counts once even when an ancestor matched too (recursion).
      for (const node of matchedNodes) {
        let ancestor = parent[node], covered = false;
        while (ancestor > 0) { if (matchedNodes.has(ancestor)) { covered = true; break; } ancestor = parent[ancestor]; }
        if (!covered) matchedValue += value(node);
      }
      matched.textContent = pattern ? "matched: " + describe(matchedValue) + ", "
        + (100 * matchedValue / (value(root) || 1)).toFixed(1) + "% of the view" : "";
      const path = [];
      for (let n = root; ; n = parent[n]) { path.unshift(n); if (n === 0) break; }
      crumbs.replaceChildren(...path.map((node, i) => {
        const crumb = el("a", { href: "#", class: "crumb", text: nameOf(node) });
        crumb.addEventListener("click", (event) => { event.preventDefault(); self.zoom(node); });
        return i === 0 ? crumb : el("span", {}, [document.createTextNode(" › "), crumb]);
      }));
    }
    function at(x, y) {
      const depth = Math.floor(y / rowHeight);
      for (const r of rects) if (r.depth === depth && x >= r.x && x < r.x + r.w) return r;
      return null;
    }
    canvas.addEventListener("mousemove", (event) => {
      const box = canvas.getBoundingClientRect();
      const r = at(event.clientX - box.left, event.clientY - box.top);
      if (!r) { tip.style.display = "none"; return; }
      const node = r.node, share = 100 * value(node) / (value(0) || 1);
      let lines = [nameOf(node)];
      if (placeOf(node)) lines.push(placeOf(node));
      if (options.diff) {
        const change = values.size[node] - values.oldSize[node];
        lines.push(formatSize(values.oldSize[node]) + " → " + formatSize(values.size[node]) + " ("
          + (change >= 0 ? "+" : "-") + formatSize(Math.abs(change)) + ")");
      } else {
        lines.push(measures[measure].label + ": " + describe(value(node)) + ", " + share.toFixed(1) + "%");
        lines.push("live: " + formatSize(values.size[node]) + " in " + values.count[node] + " blocks; "
          + values.calls[node] + " calls, " + values.temporary[node] + " temporary");
      }
      tip.textContent = lines.join("\n");
      tip.style.display = "block";
      tip.style.left = Math.min(event.clientX - box.left + 12, box.width - 320) + "px";
      tip.style.top = (event.clientY - box.top + 16) + "px";
    });
    canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
    canvas.addEventListener("click", (event) => {
      const box = canvas.getBoundingClientRect();
      const r = at(event.clientX - box.left, event.clientY - box.top);
      if (r) self.zoom(r.node);
    });
    search.addEventListener("input", () => {
      try { pattern = search.value ? new RegExp(search.value, "i") : null; search.classList.remove("bad"); }
      catch (e) { pattern = null; search.classList.add("bad"); }
      draw();
    });
    foldBox.addEventListener("change", () => draw());
    reset.addEventListener("click", () => self.zoom(0));
    window.addEventListener("resize", () => draw());

    this.zoom = function (node) { root = node; draw(); };
    this.zoomPath = function () { return crumbs.textContent; };
    // The centre of the widest visible frame called `name`, in viewport coordinates (for tools and tests).
    this.rectOf = function (name) {
      const box = canvas.getBoundingClientRect();
      const found = rects.filter((r) => nameOf(r.node) === name).sort((a, b) => b.w - a.w)[0];
      return found ? { x: box.left + found.x + found.w / 2, y: box.top + found.depth * rowHeight + rowHeight / 2,
                       width: found.w } : null;
    };
    draw();
  }

  api.graphs.flame = new FlameGraph("flame", "Flame graph of " + newest.name, {
    legend: "Icicle: the root at the top, each frame as wide as its share; orange native, blue Python, grey allocator frames. Click to zoom." });
  timings.flame = performance.now();
  if (values.oldSize) {
    api.graphs.diff = new FlameGraph("diff-flame", "Diff flame graph: " + data.snapshots[0].name + " → " + newest.name,
      { diff: true, legend: "Red grew, blue shrank (live bytes); width is the larger of the two." });
  }

  timings.diff = performance.now();

  // ---- chart of traced memory over the series
  if (data.chart) {
    const section = el("section", { id: "chart-section" }, [el("h2", { text: "Traced memory over " + data.snapshots.length + " snapshots" })]);
    const ns = "http://www.w3.org/2000/svg";
    const width = 900, height = 290, left = 70, right = 20, top = 28, bottom = 40;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("id", "chart"); svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    const series = [{ name: "traced memory", values: data.chart.total, cls: "total" }]
      .concat(data.chart.sites.map((s, i) => ({ name: s.name, values: s.values, cls: "site site" + i })));
    const maximum = Math.max(1, ...series.flatMap((s) => s.values));
    const n = data.snapshots.length;
    const x = (i) => left + (n === 1 ? 0 : (i * (width - left - right)) / (n - 1));
    const y = (v) => top + (1 - v / maximum) * (height - top - bottom);
    function add(tag, attributes, text) {
      const node = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
      if (text !== undefined) node.textContent = text;
      svg.appendChild(node);
      return node;
    }
    for (let t = 0; t <= 4; t++) {
      const v = (maximum * t) / 4;
      add("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid" });
      add("text", { x: left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, formatSize(v));
    }
    data.snapshots.forEach((s, i) => add("text", { x: x(i), y: height - bottom + 16, class: "axis", "text-anchor": "middle" }, String(i + 1)));
    for (const s of series) {
      add("polyline", { points: s.values.map((v, i) => x(i) + "," + y(v)).join(" "), class: s.cls }).appendChild(
        Object.assign(document.createElementNS(ns, "title"), { textContent: s.name }));
    }
    data.snapshots.forEach((s, i) => {
      if (!s.isPeak) return;
      add("circle", { cx: x(i), cy: y(data.chart.total[i]), r: 5, class: "peak" });
      add("text", { x: x(i), y: y(data.chart.total[i]) - 9, class: "peak-label", "text-anchor": "middle" }, "peak " + s.sizeText);
    });
    section.appendChild(svg);
    section.appendChild(el("ul", { class: "chart-legend" }, series.map((s) =>
      el("li", { class: s.cls }, [el("span", { class: "swatch" }), document.createTextNode(" " + s.name)]))));
    document.body.appendChild(section);
  }

  // ---- the table of `heapsnap top`
  {
    const columns = [
      ["#", null], ["Location", 0, "text"], ["Size", 1], ["Count", 3], ["Average", 4], ["Calls", 6], ["Allocated", 7], ["Temporary", 9],
    ];
    const sortColumn = { size: 1, count: 3, calls: 6, allocated: 7, temporary: 9 }[data.sort] || 1;
    const section = el("section", { id: "table-section" }, [el("h2", { text: "Top " + data.table.rows.length + " "
      + data.groupBy + (data.table.rows.length === 1 ? "" : "s") + " of " + newest.name + " (of " + data.table.entries + ")" })]);
    const table = el("table", { id: "top" });
    const head = el("tr");
    const body = el("tbody");
    let order = { column: sortColumn, descending: true };
    function cells(row, rank) {
      return [String(rank), row[0], row[2], String(row[3]), row[5], String(row[6]), row[8], String(row[9])];
    }
    function fill() {
      const rows = data.table.rows.map((row, index) => ({ row, index }));
      const key = order.column;
      rows.sort((a, b) => {
        const p = a.row[key], q = b.row[key];
        const c = typeof p === "string" ? p.localeCompare(q) : p - q;
        return (order.descending ? -c : c) || a.index - b.index;
      });
      body.replaceChildren(...rows.map(({ row, index }) =>
        el("tr", {}, cells(row, index + 1).map((text, i) => el("td", { class: i >= 2 ? "number" : "", text })))));
      for (const [i, th] of Array.from(head.children).entries()) {
        th.classList.toggle("sorted", columns[i][1] === order.column);
        th.dataset.order = columns[i][1] === order.column ? (order.descending ? "descending" : "ascending") : "";
      }
    }
    for (const [label, column] of columns) {
      const th = el("th", { text: label });
      if (column !== null) th.addEventListener("click", () => {
        order = { column, descending: order.column === column ? !order.descending : typeof data.table.rows[0]?.[column] !== "string" };
        fill();
      });
      head.appendChild(th);
    }
    table.append(el("thead", {}, [head]), body);
    section.appendChild(table);
    document.body.appendChild(section);
    fill();
  }

  api.ready = true;
  api.renderMs = performance.now();
  document.body.dataset.ready = "1";
})();
"""#
}
