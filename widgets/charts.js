// nbtrack's chart library: line charts, small-multiple bars and parallel coordinates, in
// plain SVG (no WebGL: any number of charts on a page; no third-party code). This file
// holds the shared helpers, parallel coordinates and the entry point; line charts are in
// charts_lines.js and bars in charts_bars.js, joined after it into one ES module by
// nbtrack.panels.charts (LIBRARY_FILES).
//
// It reaches the page once (see chart.js) and draws every chart model it is given:
// `kind` picks the chart, `data` holds what is drawn and `chart_layout` its size and titles.
// Each draw replaces the chart's SVG from the model's current state, so a view that is
// rendered again (output scrolled back, cell re-run, page reloaded) draws the same thing.
// Parallel coordinates keep brushes in data units in the `brushes` trait (the source of
// truth between the browser and Python) and name the run under the pointer.

const NS = "http://www.w3.org/2000/svg";
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
  "#addc30", "#fde725"];
const MUTED = "#6b7280";
const FADED = "#d1d5db";

/**
 * @typedef {{ name: string, color: string, x: Array<number | null>, y: Array<number | null> }} Series
 * @typedef {{ label: string, scale: "linear" | "log" | "category", values: Array<number | null>,
 *   categories?: string[] }} Axis
 * @typedef {(v: number) => number} Scale
 */

/** @param {string} tag @param {Record<string, any>} [attrs] @param {Array<Node | string>} [children] */
function svg(tag, attrs = {}, children = []) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  el.append(...children);
  return el;
}

/** @param {string} tag @param {Record<string, any>} [props] @param {Array<Node | string>} [children] */
function html(tag, props = {}, children = []) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") el.className = value;
    else el.setAttribute(key, value);
  }
  el.append(...children);
  return el;
}

/** A number as a person reads it: 4 significant digits, exponents for very large or small. */
export function formatNumber(/** @type {number | null | undefined} */ v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(/** @type {number} */ lo, /** @type {number} */ hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const ratio = raw / magnitude;
  const step = (ratio >= 7.5 ? 10 : ratio >= 3.5 ? 5 : ratio >= 1.5 ? 2 : 1) * magnitude;
  const ticks = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) {
    ticks.push(Number((i * step).toPrecision(12)));
  }
  return ticks;
}

/** A domain around the finite values: padded, never empty. @param {number[]} values */
function extent(values, pad = 0.05) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) {
    const d = Math.abs(lo) * 0.1 || 1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

/** @returns {Scale} */
function linear(/** @type {number[]} */ [d0, d1], /** @type {number[]} */ [r0, r1]) {
  const k = (r1 - r0) / (d1 - d0 || 1);
  return (v) => r0 + (v - d0) * k;
}

const VIRIDIS_RGB = VIRIDIS.map((c) => [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16)));

/** The viridis colour at t in [0, 1]. */
export function viridis(/** @type {number} */ t) {
  const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS_RGB[i];
  const b = VIRIDIS_RGB[i + 1];
  return `rgb(${Math.round(a[0] + (b[0] - a[0]) * f)},${Math.round(a[1] + (b[1] - a[1]) * f)},${Math.round(a[2] + (b[2] - a[2]) * f)})`;
}

function text(/** @type {string} */ content, /** @type {Record<string, any>} */ attrs) {
  return svg("text", attrs, [content]);
}

/** The common frame of a chart: root element, tooltip, data attributes for tests. */
function frame(/** @type {HTMLElement} */ el, /** @type {string} */ kind) {
  const root = html("div", { class: `nbc-chart nbc-${kind}`, "data-kind": kind });
  const tip = html("div", { class: "nbc-tip" });
  root.append(tip);
  el.append(root);
  return { root, tip };
}

function showTip(/** @type {HTMLElement} */ tip, /** @type {HTMLElement} */ root,
  /** @type {MouseEvent} */ event, /** @type {string} */ content) {
  const box = root.getBoundingClientRect();
  tip.innerHTML = content;
  tip.style.display = "block";
  const x = event.clientX - box.left + 12;
  tip.style.left = `${Math.min(x, Math.max(0, box.width - tip.offsetWidth - 4))}px`;
  tip.style.top = `${event.clientY - box.top + 12}px`;
}

function esc(/** @type {string} */ s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] || c);
}

// -- parallel coordinates ------------------------------------------------------------------

/** A vertical scale for an axis, its ticks and the inverse (pixels back to data units). */
function axisScale(/** @type {Axis} */ axis, /** @type {number} */ top, /** @type {number} */ bottom) {
  if (axis.scale === "category") {
    const n = (axis.categories || []).length;
    const s = linear([-0.5, Math.max(0.5, n - 0.5)], [bottom, top]);
    const every = Math.ceil(n / 30) || 1;
    const ticks = (axis.categories || []).map((c, i) => [i, c]).filter((_, i) => i % every === 0);
    return { at: s, ticks, invert: linear([bottom, top], [-0.5, Math.max(0.5, n - 0.5)]) };
  }
  if (axis.scale === "log") {
    const logs = axis.values.map((v) => (v !== null && v > 0 ? Math.log10(v) : null));
    const [lo, hi] = extent(/** @type {number[]} */ (logs), 0.04);
    const s = linear([lo, hi], [bottom, top]);
    const distinct = [...new Set(axis.values.filter((v) => v !== null && v > 0))].sort((a, b) => Number(a) - Number(b));
    const ticks = distinct.length <= 10
      ? distinct.map((v) => [v, String(Number(Number(v).toPrecision(4)))])
      : niceTicks(Math.ceil(lo), Math.floor(hi), 6).filter(Number.isInteger).map((e) => [10 ** e, String(10 ** e)]);
    const inv = linear([bottom, top], [lo, hi]);
    return {
      at: (/** @type {number} */ v) => s(Math.log10(v)),
      ticks,
      invert: (/** @type {number} */ px) => 10 ** inv(px),
    };
  }
  const [lo, hi] = extent(/** @type {number[]} */ (axis.values), 0.04);
  return {
    at: linear([lo, hi], [bottom, top]),
    ticks: niceTicks(lo, hi, 6).map((t) => [t, formatNumber(t)]),
    invert: linear([bottom, top], [lo, hi]),
  };
}

/** Whether run i lies inside every brush. */
function inside(/** @type {Axis[]} */ axes, /** @type {Record<string, number[][]>} */ brushes, /** @type {number} */ i) {
  for (const axis of axes) {
    const ranges = brushes[axis.label];
    if (!ranges || !ranges.length) continue;
    const v = axis.values[i];
    if (v === null || !ranges.some(([lo, hi]) => v >= lo && v <= hi)) return false;
  }
  return true;
}

/** Parallel coordinates: one path per run, brushable axes, hover naming the run. */
function drawParcoords(/** @type {any} */ model, /** @type {HTMLElement} */ root, /** @type {HTMLElement} */ tip) {
  const data = model.get("data") || {};
  const layout = model.get("chart_layout") || {};
  /** @type {Axis[]} */ const axes = data.axes || [];
  /** @type {string[]} */ const names = data.names || [];
  /** @type {string[]} */ const ids = data.ids || [];
  const width = layout.width || 800;
  const height = layout.height || 420;
  const colorBy = model.get("color_by") || "";
  const m = { l: 70, r: colorBy ? 120 : 40, t: 64, b: 28 };
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "nbc-svg" });
  const gap = axes.length > 1 ? (width - m.l - m.r) / (axes.length - 1) : 0;
  const xAt = (/** @type {number} */ k) => (axes.length > 1 ? m.l + k * gap : (m.l + width - m.r) / 2);
  const scales = axes.map((a) => axisScale(a, m.t, height - m.b));
  const colorAxis = axes.find((a) => a.label === colorBy);
  const colorValues = colorAxis ? colorAxis.values.filter((v) => v !== null && Number.isFinite(v)) : [];
  const cmin = Math.min(...colorValues);
  const cmax = Math.max(...colorValues);
  const colorOf = (/** @type {number} */ i) => {
    const v = colorAxis ? colorAxis.values[i] : null;
    if (v === null || !colorValues.length) return colorAxis ? FADED : VIRIDIS[3];
    return viridis(cmax > cmin ? (v - cmin) / (cmax - cmin) : 0.5);
  };
  const lines = svg("g", { class: "nbc-paths" });
  // one markup string for every run's path: thousands of runs draw in one parse
  const markup = [];
  const brushes0 = model.get("brushes") || {};
  for (let i = 0; i < ids.length; i++) {
    let d = "";
    let pen = "M";
    for (let k = 0; k < axes.length; k++) {
      const v = axes[k].values[i];
      if (v === null || (axes[k].scale === "log" && !(v > 0))) {
        pen = "M";
        continue;
      }
      d += `${pen}${xAt(k).toFixed(1)},${scales[k].at(v).toFixed(1)}`;
      pen = "L";
    }
    const on = inside(axes, brushes0, i);
    markup.push(`<path d="${d}" data-i="${i}" class="nbc-run${on ? "" : " nbc-out"}" stroke="${on ? colorOf(i) : FADED}"/>`);
  }
  lines.innerHTML = markup.join("");
  const paths = /** @type {SVGPathElement[]} */ ([...lines.children]);
  chart.append(lines);
  const brushLayer = svg("g", { class: "nbc-brushes" });
  axes.forEach((axis, k) => {
    const x = xAt(k);
    const g = svg("g", { class: "nbc-pc-axis", "data-label": axis.label });
    g.append(svg("line", { x1: x, x2: x, y1: m.t, y2: height - m.b, class: "nbc-axis" }));
    for (const [v, label] of scales[k].ticks) {
      const y = scales[k].at(Number(v));
      g.append(svg("line", { x1: x - 4, x2: x, y1: y, y2: y, class: "nbc-axis" }));
      // a backing box keeps the label readable where lines cross the axis (11px font)
      const w = String(label).length * 6.3 + 4;
      g.append(svg("rect", { x: x - 7 - w + 2, y: y - 7, width: w, height: 13, rx: 2, class: "nbc-tick-bg" }));
      g.append(text(String(label), { x: x - 7, y: y + 4, class: "nbc-tick nbc-halo", "text-anchor": "end" }));
    }
    // labels wider than the gap between axes alternate between two lines, cut to fit
    const crowded = axes.length > 1 && gap < 120;
    const room = Math.max(6, Math.floor(((crowded ? 2 : 1) * (gap || width)) / 7) - 1);
    const title = axis.label.length > room ? `${axis.label.slice(0, room - 1)}…` : axis.label;
    const y = m.t - 22 - (crowded && k % 2 ? 16 : 0);
    g.append(text(title, { x, y, class: "nbc-label", "text-anchor": "middle" }));
    g.lastChild?.appendChild(svg("title", {}, [axis.label]));
    const hit = svg("rect", { x: x - 13, y: m.t, width: 26, height: height - m.t - m.b, class: "nbc-brush-hit", "data-label": axis.label });
    g.append(hit);
    chart.append(g);
    brushArea(hit, axis, scales[k], x);
  });
  chart.append(brushLayer);
  if (colorAxis && colorValues.length) chart.append(colorbar(colorBy, cmin, cmax, width - m.r + 40, m.t, height - m.b));

  function save(/** @type {Record<string, number[][]>} */ brushes) {
    model.set("brushes", brushes);
    model.save_changes();
    paint();
  }

  /** Colour the runs inside every brush, fade the others, draw the brush boxes. */
  function paint(first = false) {
    const brushes = model.get("brushes") || {};
    let shown = 0;
    for (let i = 0; i < paths.length; i++) {
      const on = inside(axes, brushes, i);
      if (!first && on === paths[i].classList.contains("nbc-out")) {
        paths[i].setAttribute("stroke", on ? colorOf(i) : FADED);
        paths[i].classList.toggle("nbc-out", !on);
      }
      if (on) shown++;
    }
    brushLayer.replaceChildren();
    axes.forEach((axis, k) => {
      for (const [lo, hi] of brushes[axis.label] || []) {
        const clamp = (/** @type {number} */ y) => Math.max(m.t, Math.min(height - m.b, y));
        const ya = clamp(scales[k].at(lo));
        const yb = clamp(scales[k].at(hi));
        if (!Number.isFinite(ya) || !Number.isFinite(yb)) continue;
        brushLayer.append(svg("rect", { x: xAt(k) - 9, width: 18, y: Math.min(ya, yb), height: Math.max(2, Math.abs(ya - yb)), class: "nbc-brush" }));
      }
    });
    root.dataset.selected = String(shown);
  }

  /** Drag on an axis to brush it (in data units); a click without a drag clears it. */
  function brushArea(/** @type {Element} */ hit, /** @type {Axis} */ axis, /** @type {any} */ scale, /** @type {number} */ x) {
    hit.addEventListener("pointerdown", (/** @type {any} */ down) => {
      down.preventDefault();
      const box = chart.getBoundingClientRect();
      const k = height / (box.height || height);
      const start = (down.clientY - box.top) * k;
      const live = svg("rect", { x: x - 9, width: 18, y: start, height: 1, class: "nbc-brush" });
      chart.append(live);
      const move = (/** @type {PointerEvent} */ e) => {
        const y = (e.clientY - box.top) * k;
        live.setAttribute("y", String(Math.min(start, y)));
        live.setAttribute("height", String(Math.abs(y - start)));
      };
      const up = (/** @type {PointerEvent} */ e) => {
        window.removeEventListener("pointermove", move);
        window.removeEventListener("pointerup", up);
        live.remove();
        const end = (e.clientY - box.top) * k;
        const brushes = { ...(model.get("brushes") || {}) };
        if (Math.abs(end - start) < 3) {
          delete brushes[axis.label];
        } else {
          const a = scale.invert(Math.max(m.t, Math.min(height - m.b, start)));
          const b = scale.invert(Math.max(m.t, Math.min(height - m.b, end)));
          brushes[axis.label] = [[Math.min(a, b), Math.max(a, b)]];
        }
        save(brushes);
      };
      window.addEventListener("pointermove", move);
      window.addEventListener("pointerup", up);
    });
  }

  lines.addEventListener("pointerover", (/** @type {any} */ event) => {
    const i = Number(event.target?.dataset?.i);
    if (!Number.isInteger(i)) return;
    event.target.classList.add("nbc-hover");
    const values = axes.map((a) => {
      const v = a.values[i];
      const shown = v === null ? "–" : a.scale === "category" ? (a.categories || [])[v] : formatNumber(v);
      return `${esc(a.label)}: <b>${esc(String(shown))}</b>`;
    });
    showTip(tip, root, event, `<b>${esc(names[i] || ids[i])}</b><br>${values.join("<br>")}`);
  });
  lines.addEventListener("pointerout", (/** @type {any} */ event) => {
    event.target?.classList?.remove("nbc-hover");
    tip.style.display = "none";
  });
  lines.addEventListener("click", (/** @type {any} */ event) => {
    const i = Number(event.target?.dataset?.i);
    if (Number.isInteger(i)) model.send({ event: "click", run_id: ids[i] });
  });
  paint(true);
  root.dataset.lines = String(paths.length);
  root.dataset.axes = String(axes.length);
  return { chart, paint };
}

function colorbar(/** @type {string} */ title, /** @type {number} */ lo, /** @type {number} */ hi,
  /** @type {number} */ x, /** @type {number} */ top, /** @type {number} */ bottom) {
  const id = `nbc-grad-${Math.random().toString(36).slice(2)}`;
  const stops = VIRIDIS.map((c, i) => svg("stop", { offset: `${(100 * i) / (VIRIDIS.length - 1)}%`, "stop-color": c }));
  const g = svg("g", { class: "nbc-colorbar" });
  g.append(svg("defs", {}, [svg("linearGradient", { id, x1: 0, x2: 0, y1: 1, y2: 0 }, stops)]));
  g.append(svg("rect", { x, y: top, width: 12, height: bottom - top, fill: `url(#${id})` }));
  g.append(text(formatNumber(hi), { x: x + 16, y: top + 8, class: "nbc-tick" }));
  g.append(text(formatNumber(lo), { x: x + 16, y: bottom, class: "nbc-tick" }));
  const middle = (top + bottom) / 2;
  g.append(text(title.length > 30 ? `${title.slice(0, 29)}…` : title, {
    x: x + 62, y: middle, class: "nbc-label", "text-anchor": "middle", transform: `rotate(-90 ${x + 62} ${middle})`,
  }));
  return g;
}

// -- the entry point -----------------------------------------------------------------------

const DRAW = { lines: drawLines, bars: drawBars, parcoords: drawParcoords };

/**
 * Draw a chart model into `el` and keep it drawn while the model changes.
 * @param {any} model @param {HTMLElement} el @returns {() => void} the cleanup
 */
export function render(model, el) {
  const kind = /** @type {keyof typeof DRAW} */ (model.get("kind"));
  const { root, tip } = frame(el, kind);
  /** @type {any} */ let drawn = null;
  let pending = false;
  const draw = () => {
    pending = false;
    const made = DRAW[kind](model, root, tip);
    const chart = made instanceof Element ? made : made.chart;
    drawn = made instanceof Element ? null : made;
    root.querySelector("svg.nbc-svg")?.remove();
    root.prepend(chart);
    root.dataset.drawn = String(Number(root.dataset.drawn || 0) + 1);
  };
  // the trait changes of one message draw once (a microtask: never throttled in a
  // background tab, unlike an animation frame)
  const schedule = () => {
    if (!pending) {
      pending = true;
      queueMicrotask(draw);
    }
  };
  const repaint = () => drawn?.paint();
  draw();
  model.on("change:data", schedule);
  model.on("change:chart_layout", schedule);
  model.on("change:color_by", schedule);
  model.on("change:brushes", repaint);
  return () => {
    model.off("change:data", schedule);
    model.off("change:chart_layout", schedule);
    model.off("change:color_by", schedule);
    model.off("change:brushes", repaint);
  };
}
