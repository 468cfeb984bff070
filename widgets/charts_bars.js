// nbtrack's chart library, bars: one small chart per metric, one bar per run (compare's
// latest values). Joined with charts.js and charts_lines.js into one ES module by
// nbtrack.panels.charts; uses charts.js's helpers.

/** One small bar chart per metric, one bar per run, three charts a row. */
function drawBars(/** @type {any} */ model, /** @type {HTMLElement} */ root, /** @type {HTMLElement} */ tip) {
  const data = model.get("data") || {};
  const layout = model.get("chart_layout") || {};
  /** @type {string[]} */ const names = data.names || [];
  /** @type {string[]} */ const colors = data.colors || [];
  /** @type {Array<{ key: string, values: Array<number | null>, best?: number | null, lower_is_better?: boolean }>} */
  const metrics = data.metrics || [];
  const width = layout.width || 560;
  const cols = Math.max(1, Math.min(3, metrics.length));
  const cellW = width / cols;
  const cellH = 170;
  const rows = Math.max(1, Math.ceil(metrics.length / cols));
  const height = rows * cellH;
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "nbc-svg" });
  let bars = 0;
  metrics.forEach((metric, k) => {
    const ox = (k % cols) * cellW;
    const oy = Math.floor(k / cols) * cellH;
    const m = { l: 46, r: 10, t: 22, b: 14 };
    const finite = metric.values.filter((v) => v !== null && Number.isFinite(v));
    let [lo, hi] = extent(/** @type {number[]} */ (finite), 0.1);
    const low = Math.min(...finite);
    const high = Math.max(...finite);
    // from zero when zero is near enough to read; else a tight axis that shows differences
    if (finite.length && low >= 0 && low < 0.5 * high) lo = 0;
    if (finite.length && high <= 0 && high > 0.5 * low) hi = 0;
    const sy = linear([lo, hi], [oy + cellH - m.b, oy + m.t]);
    // a long key is cut to its cell (the neighbour's title is next to it), whole on hover
    const room = Math.max(4, Math.floor((cellW - 8) / 7));
    const title = text(metric.key.length > room ? `${metric.key.slice(0, room - 1)}…` : metric.key,
      { x: ox + cellW / 2, y: oy + 14, class: "nbc-subtitle", "text-anchor": "middle" });
    title.append(svg("title", {}, [metric.key]));
    chart.append(title);
    for (const t of niceTicks(lo, hi, 3)) {
      chart.append(svg("line", { x1: ox + m.l, x2: ox + cellW - m.r, y1: sy(t), y2: sy(t), class: "nbc-gridline" }));
      chart.append(text(formatNumber(t), { x: ox + m.l - 4, y: sy(t) + 4, class: "nbc-tick", "text-anchor": "end" }));
    }
    const slot = (cellW - m.l - m.r) / Math.max(1, names.length);
    metric.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      const base = sy(Math.max(lo, Math.min(hi, 0 >= lo && 0 <= hi ? 0 : lo)));
      const top = sy(v);
      const isBest = metric.best === i;
      const x = ox + m.l + i * slot + slot * 0.15;
      const bar = svg("rect", {
        x, width: Math.max(1, slot * 0.7),
        y: Math.min(base, top), height: Math.max(1, Math.abs(base - top)),
        fill: colors[i] || VIRIDIS[3], class: isBest ? "nbc-bar nbc-best" : "nbc-bar",
      });
      const why = metric.lower_is_better ? "lowest" : "highest";
      bar.addEventListener("pointermove", (event) => showTip(tip, root, event,
        `${esc(names[i])}<br>${esc(metric.key)}: <b>${formatNumber(v)}</b>${isBest ? `<br>best (${why})` : ""}`));
      if (isBest) {
        const star = text("★", { x: x + Math.max(1, slot * 0.7) / 2, y: Math.max(oy + m.t + 10, top - 3), class: "nbc-best-mark", "text-anchor": "middle" });
        const title = svg("title", {});
        title.textContent = `best ${metric.key}: ${names[i]} (${why})`;
        star.append(title);
        chart.append(star);
      }
      bar.addEventListener("pointerleave", () => { tip.style.display = "none"; });
      chart.append(bar);
      bars++;
    });
  });
  root.dataset.bars = String(bars);
  return chart;
}
