// The style sheet of `heapsnap report`'s page (inlined into the one HTML file).

enum HTMLReportStyle {
    static let css = #"""
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 24px 40px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 18px 0 2px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
p.command { font-family: ui-monospace, monospace; color: #555; margin: 2px 0; word-break: break-all; }
p.when { color: #555; margin: 2px 0 10px; }
p.note { color: #8a4b00; margin: 2px 0 10px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 6px 12px; min-width: 90px; }
.card .label { display: block; font-size: 11px; text-transform: uppercase; color: #777; }
.card .value { font-size: 16px; font-weight: 600; }
.controls { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin-bottom: 6px; }
.controls input[type=search] { width: 240px; padding: 3px 6px; }
.controls input.bad { outline: 2px solid #d33; }
.matched { color: #8e24aa; }
.crumbs { font-size: 13px; margin: 4px 0; color: #555; }
.crumbs a { color: #1565c0; text-decoration: none; }
.canvas-box { position: relative; width: 100%; }
canvas { display: block; cursor: pointer; }
.tip { display: none; position: absolute; z-index: 2; max-width: 320px; white-space: pre-wrap; pointer-events: none;
       background: #fffde7; border: 1px solid #ccc; padding: 6px 8px; font-size: 12px; box-shadow: 0 2px 6px #0003; }
.legend { font-size: 12px; color: #666; }
svg#chart { width: 100%; max-width: 900px; height: auto; }
svg .grid { stroke: #eee; }
svg .axis { font-size: 11px; fill: #666; }
svg polyline { fill: none; stroke-width: 1.5; }
svg polyline.total { stroke: #222; stroke-width: 3; }
svg .peak { fill: #d32f2f; }
svg .peak-label { font-size: 12px; fill: #d32f2f; }
.site0 { stroke: #e53935; color: #e53935; } .site1 { stroke: #fb8c00; color: #fb8c00; }
.site2 { stroke: #43a047; color: #43a047; } .site3 { stroke: #1e88e5; color: #1e88e5; }
.site4 { stroke: #8e24aa; color: #8e24aa; } .total { color: #222; }
.chart-legend { list-style: none; padding: 0; font-size: 12px; }
.chart-legend .swatch { display: inline-block; width: 18px; height: 3px; background: currentColor; vertical-align: middle; }
table#top { border-collapse: collapse; font-size: 13px; }
table#top th { text-align: left; border-bottom: 2px solid #ccc; padding: 4px 8px; cursor: pointer; user-select: none; }
table#top th.sorted[data-order=descending]::after { content: " ▼"; }
table#top th.sorted[data-order=ascending]::after { content: " ▲"; }
table#top td { border-bottom: 1px solid #eee; padding: 3px 8px; font-family: ui-monospace, monospace; }
table#top td.number { text-align: right; white-space: nowrap; }
"""#
}
