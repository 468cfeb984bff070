// nbtrack run table, part 1 of 3: building blocks and cell formatting.
//
// nbtrack/panels/runs.py joins runs_cells.js, runs_complete.js and runs.js into the one
// ES module the view loads (no build step), so these are plain declarations, used by
// runs.js; nothing here touches the model.

const GROUP_LABELS = { attributes: "Attributes", params: "Parameters", metrics: "Metrics", tags: "Tags" };
const VALUE_FIELD = { params: "p", metrics: "m", tags: "t" };
const PAGE_SIZES = [25, 50, 100, 200];
const VIEWS = [["active", "Active runs"], ["deleted", "Deleted runs"], ["all", "All runs"]];
// A body drawing puts in at once the rows that can be in the scroll box's view: rows are
// at least MIN_ROW_PX high, and at least FIRST_ROWS go in (the box shows about 14).
const MIN_ROW_PX = 22;
const FIRST_ROWS = 20;
const REST_WITHIN_MS = 100; // the rows below the fold are drawn within this, idle or not

/** Run ``fn`` when the page is idle (within REST_WITHIN_MS); Safari has no
 * requestIdleCallback, so there it runs in the next task. @param {() => void} fn */
function whenIdle(fn) {
  if (typeof requestIdleCallback === "function") requestIdleCallback(fn, { timeout: REST_WITHIN_MS });
  else setTimeout(fn, 0);
}

/** @param {string} tag @param {Record<string, any>} [props] @param {Array<Node | string>} [children] */
function h(tag, props = {}, children = []) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el) /** @type {any} */ (el)[key] = value;
    else el.setAttribute(key, value);
  }
  el.append(...children);
  return el;
}

/** @param {number | string | undefined} v */
function toNumber(v) {
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return typeof v === "number" ? v : NaN;
}

/** @param {number | string | undefined} v */
function formatNumber(v) {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v === "Infinity" ? "∞" : v === "-Infinity" ? "-∞" : v;
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** @param {number | undefined | null} ms */
function formatTime(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0");
  const date = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${date} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${zoneName(d)}`;
}

/** "UTC" or "UTC+01:00", as nbtrack/display.py writes a zone. @param {Date} d */
function zoneName(d) {
  const offset = -d.getTimezoneOffset();
  if (offset === 0) return "UTC";
  const a = Math.abs(offset);
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `UTC${offset > 0 ? "+" : "-"}${p(Math.floor(a / 60))}:${p(a % 60)}`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", then the date. @param {number | undefined | null} ms */
function timeAgo(ms) {
  if (!ms) return "";
  const s = (Date.now() - ms) / 1000;
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.round(s / 86400)} day${s < 1.5 * 86400 ? "" : "s"} ago`;
  return formatTime(ms).slice(0, 10);
}

/** @param {Row} row */
function formatDuration(row) {
  if (!row.start || !row.end) return row.status === "RUNNING" ? "running" : "";
  // the forms of nbtrack/display.py: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min
  const ms = Math.max(0, row.end - row.start);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  if (m < 60) return `${m} min ${pad(total % 60)} s`;
  return `${Math.floor(m / 60)} h ${pad(m % 60)} min`;
}

/** Text made safe inside HTML and its attribute values. @param {unknown} value */
function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[/** @type {keyof typeof ESCAPES} */ (c)]);
}
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** One element's HTML: a tag, its attributes (skipped when null or false) and inner HTML.
 * @param {string} tag @param {Record<string, string | number | boolean | null | undefined>} attrs
 * @param {string} [inner] */
function tagHtml(tag, attrs, inner = "") {
  let open = `<${tag}`;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === true) open += ` ${key}`;
    else if (value !== null && value !== undefined && value !== false) open += ` ${key}="${esc(value)}"`;
  }
  return tag === "input" ? `${open}>` : `${open}>${inner}</${tag}>`;
}

const CLIP_ABOVE = 32; // characters: a longer value is cut to its column's width

/** A value as cell HTML; a long one is clipped with an ellipsis, whole in its tooltip.
 * @param {unknown} value */
function clipped(value) {
  const text = String(value ?? "");
  return text.length > CLIP_ABOVE ? tagHtml("span", { class: "nbt-clip", title: text }, esc(text)) : esc(text);
}

/** A small SVG line of a metric's history, as HTML, and its tooltip.
 * @param {Array<number | string>} values @returns {[string, string]} */
function sparkline(values) {
  const nums = values.map(toNumber);
  const finite = nums.filter(Number.isFinite);
  const svg = (/** @type {string} */ inner) =>
    `<svg class="nbt-spark" width="56" height="16" viewBox="0 0 56 16">${inner}</svg>`;
  if (finite.length < 2) return [svg(""), ""];
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const span = hi - lo || 1;
  const step = 54 / (nums.length - 1);
  const points = [];
  nums.forEach((v, i) => {
    if (Number.isFinite(v)) points.push(`${(1 + i * step).toFixed(1)},${(15 - ((v - lo) / span) * 14).toFixed(1)}`);
  });
  const title = `${finite.length} points, ${formatNumber(lo)} … ${formatNumber(hi)}`;
  return [svg(`<polyline points="${points.join(" ")}"></polyline>`), title];
}

/** @param {string} order */
function parseOrder(order) {
  const m = /^(.*?)\s+(ASC|DESC)$/i.exec(order || "");
  return m ? { column: m[1], dir: m[2].toUpperCase() } : { column: order, dir: "ASC" };
}

/** A cell's inner HTML. @param {Column} col @param {Row} row @returns {string} */
function cell(col, row) {
  if (col.group === "attributes") {
    switch (col.key) {
      case "status": {
        const badge = tagHtml("span", { class: `nbt-badge nbt-${(row.status || "").toLowerCase()}` }, esc(row.status));
        if (!row.error) return badge;
        return tagHtml("span", { class: "nbt-status" },
          badge + tagHtml("span", { class: "nbt-error-line", title: row.error }, esc(row.error)));
      }
      case "start_time":
        return tagHtml("span", { class: "nbt-ago", title: formatTime(row.start), "data-ms": String(row.start || "") },
          esc(timeAgo(row.start)));
      case "duration":
        return esc(formatDuration(row));
      case "user_id":
        return clipped(row.user);
      case "source": {
        const src = row.source || "";
        const name = src.split("/").pop() || src;
        return tagHtml("span", { class: name.length > CLIP_ABOVE ? "nbt-clip" : null, title: src }, esc(name));
      }
      default:
        return clipped(row.name);
    }
  }
  const values = /** @type {Record<string, any>} */ (row[/** @type {"p" | "m" | "t"} */ (VALUE_FIELD[col.group])] || {});
  const value = values[col.key];
  if (col.group !== "metrics") return value === undefined ? "" : clipped(value);
  const spark = row.s && row.s[col.key];
  const text = tagHtml("span", { class: "nbt-num" }, esc(formatNumber(value)));
  if (!spark) return tagHtml("span", { class: "nbt-metric" }, text);
  // the history's tooltip is the cell's: one element fewer per sparkline, a larger target
  const [line, title] = sparkline(spark);
  return tagHtml("span", { class: "nbt-metric", title: title || null }, line + text);
}
