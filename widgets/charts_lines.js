// nbtrack's chart library, line charts (series of x/y points: metric histories, the
// param-against-metric scatter). Not a module of its own: nbtrack.panels.charts joins the
// library's files (charts.js, charts_lines.js, charts_bars.js) into the one ES module the
// page imports, so this file uses charts.js's helpers (svg, text, extent, niceTicks...).

/** Draw series as lines (markers when few points), with a legend and a hover read-out. */
function drawLines(/** @type {any} */ model, /** @type {HTMLElement} */ root, /** @type {HTMLElement} */ tip) {
  const data = model.get("data") || {};
  const layout = model.get("chart_layout") || {};
  /** @type {Series[]} */ const series = data.series || [];
  const width = layout.width || 560;
  const height = layout.height || 300;
  // legend entries flow left to right (width estimated from the name), wrapping as needed
  /** @type {Array<[number, number]>} */ const legend = [];
  let lx = 60;
  let row = 0;
  for (const s of series.length > 1 ? series : []) {
    const w = 24 + Math.min(s.name.length, 40) * 6.5;
    if (lx + w > width && lx > 60) {
      lx = 60;
      row++;
    }
    legend.push([lx, row]);
    lx += w;
  }
  const legendRows = legend.length ? row + 1 : 0;
  const m = { l: 60, r: 16, t: layout.title ? 30 : 12, b: 40 + legendRows * 18 };
  const xs = series.flatMap((s) => s.x);
  // a log y axis (layout.y_log) plots log10 of the positive values; others are gaps
  const ylog = Boolean(layout.y_log);
  const fy = (/** @type {number | null} */ v) => (v === null || !ylog ? v : v > 0 ? Math.log10(v) : null);
  const ys = series.flatMap((s) => s.y.map(fy));
  const [x0, x1] = extent(/** @type {number[]} */ (xs), 0.02);
  const [y0, y1] = extent(/** @type {number[]} */ (ys), 0.08);
  /** @type {Array<[number, string]>} */
  const yTicks = niceTicks(y0, y1, 5).map((t) => [t, formatNumber(ylog ? 10 ** t : t)]);
  // room for the widest tick label (about 6.5 px a character) beside the y title
  m.l = Math.max(m.l, 30 + 6.5 * Math.max(0, ...yTicks.map(([, label]) => label.length)));
  const sx = linear([x0, x1], [m.l, width - m.r]);
  const sy = linear([y0, y1], [height - m.b, m.t]);
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "nbc-svg" });
  if (layout.title) chart.append(text(layout.title, { x: m.l, y: 18, class: "nbc-title" }));
  const grid = svg("g", { class: "nbc-grid" });
  for (const [t, label] of yTicks) {
    grid.append(svg("line", { x1: m.l, x2: width - m.r, y1: sy(t), y2: sy(t) }));
    chart.append(text(label, { x: m.l - 6, y: sy(t) + 4, class: "nbc-tick", "text-anchor": "end" }));
  }
  // every point at one x (a value logged once): a tick at that x only, values written out
  const xSet = new Set(xs.filter((v) => v !== null));
  const single = xSet.size === 1;
  for (const t of single ? [...xSet] : niceTicks(x0, x1, 6)) {
    chart.append(text(formatNumber(t), { x: sx(t), y: height - m.b + 16, class: "nbc-tick", "text-anchor": "middle" }));
  }
  chart.prepend(grid);
  chart.append(svg("line", { x1: m.l, x2: width - m.r, y1: height - m.b, y2: height - m.b, class: "nbc-axis" }));
  chart.append(text(layout.x_title || "", { x: (m.l + width - m.r) / 2, y: height - m.b + 32, class: "nbc-label", "text-anchor": "middle" }));
  chart.append(text(layout.y_title || "", {
    x: 14, y: (m.t + height - m.b) / 2, class: "nbc-label", "text-anchor": "middle",
    transform: `rotate(-90 14 ${(m.t + height - m.b) / 2})`,
  }));
  let points = 0;
  series.forEach((s, k) => {
    let d = "";
    let pen = "M";
    const dots = svg("g", { fill: s.color });
    const markers = s.x.length < 40;
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i];
      const y = fy(s.y[i]);
      if (x === null || y === null || !Number.isFinite(y)) {
        pen = "M";
        continue;
      }
      d += `${pen}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      pen = "L";
      points++;
      if (markers) dots.append(svg("circle", { cx: sx(x).toFixed(1), cy: sy(y).toFixed(1), r: single ? 4 : 2.5 }));
      if (single) chart.append(text(formatNumber(s.y[i]), { x: sx(x) + 8, y: sy(y) + 4, class: "nbc-value", style: `fill:${s.color}` }));
    }
    chart.append(svg("path", { d, class: "nbc-trace", stroke: s.color, "data-name": s.name, "data-points": s.x.length }));
    chart.append(dots);
    if (legendRows) {
      const [x, r] = legend[k];
      const ly = height - legendRows * 18 + r * 18 + 8;
      const name = s.name.length > 40 ? `${s.name.slice(0, 39)}…` : s.name;
      chart.append(svg("rect", { x, y: ly - 8, width: 10, height: 10, fill: s.color }));
      chart.append(text(name, { x: x + 14, y: ly + 1, class: "nbc-legend" }));
    }
  });
  const cursor = svg("line", { y1: m.t, y2: height - m.b, class: "nbc-cursor", visibility: "hidden" });
  const hit = svg("rect", { x: m.l, y: m.t, width: width - m.l - m.r, height: height - m.t - m.b, class: "nbc-hit" });
  chart.append(cursor, hit);
  hit.addEventListener("pointermove", (event) => {
    const box = chart.getBoundingClientRect();
    const px = ((event.clientX - box.left) * width) / (box.width || width);
    const x = x0 + ((px - m.l) / (width - m.l - m.r)) * (x1 - x0);
    const lines = [];
    let at = null;
    for (const s of series) {
      const i = nearest(s.x, x);
      if (i < 0) continue;
      at = s.x[i];
      lines.push(`<span style="color:${s.color}">●</span> ${esc(s.name)}: <b>${formatNumber(s.y[i])}</b>`);
    }
    if (at === null) return;
    cursor.setAttribute("x1", String(sx(at)));
    cursor.setAttribute("x2", String(sx(at)));
    cursor.setAttribute("visibility", "visible");
    showTip(tip, root, event, `${esc(layout.x_title || "x")} ${formatNumber(at)}<br>${lines.join("<br>")}`);
  });
  hit.addEventListener("pointerleave", () => {
    cursor.setAttribute("visibility", "hidden");
    tip.style.display = "none";
  });
  root.dataset.series = String(series.length);
  root.dataset.points = String(points);
  return chart;
}

/** Index of the x closest to `x` in an ascending list (-1 when empty). @param {Array<number | null>} xs */
function nearest(xs, /** @type {number} */ x) {
  let best = -1;
  let gap = Infinity;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    if (v === null) continue;
    const d = Math.abs(v - x);
    if (d < gap) {
      gap = d;
      best = i;
    }
  }
  return best;
}
