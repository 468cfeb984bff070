// nbtrack run table: the browser view of nbtrack.panels.RunGrid.
//
// Python owns the data: it pages, sorts and filters in SQL and sends one page of rows.
// This view draws them and writes the user's choices back to the model (filter,
// order_by, page, page_size, tree, expanded, collapsed, selected_run_ids, view); actions that open
// other panels (compare, sweep, run detail, edit, "show more" children) or delete and
// restore the selection go as messages.
// Redraws replace the table body in place, so a live refresh keeps scroll and focus.
// Part 3 of 3: runs_cells.js (formatting) and runs_complete.js (filter completion) come
// first in the module nbtrack/panels/runs.py builds.

/**
 * @typedef {{ group: string, key: string, label: string, sort: string | null, varies: boolean }} Column
 * @typedef {{ id?: string, more?: string, hidden?: number, depth: number, name?: string,
 *   status?: string, start?: number, end?: number | null, user?: string, source?: string,
 *   children?: number, descendants?: number, models?: boolean, error?: string, p?: Record<string, string>,
 *   context?: boolean, deleted?: boolean,
 *   m?: Record<string, number | string>, t?: Record<string, string>,
 *   s?: Record<string, Array<number | string>> }} Row
 * @typedef {import("@anywidget/types").AnyModel} Model
 */

/** @param {{ model: Model, el: HTMLElement }} ctx */
function render({ model, el }) {
  /** @type {number | null} */
  let anchor = null; // index of the last row clicked, for shift-click ranges
  let lastSent = model.get("filter") || ""; // the filter this view last sent or showed

  const experimentSelect = h("select", { class: "nbt-experiment", title: "The experiment shown" });
  const filterInput = h("input", {
    class: "nbt-filter", type: "text", spellcheck: false,
    placeholder: "Filter: metrics.rmse < 1 and params.alpha = '0.5'",
    title: "search_runs filter grammar; press Enter to apply, Escape to undo",
  });
  const completion = attachCompletion(/** @type {HTMLInputElement} */ (filterInput),
    () => model.get("filter_keys") || [], () => filterInput.dispatchEvent(new Event("input")));
  const filterBox = h("span", { class: "nbt-filterbox" }, [filterInput, completion.list]);
  const applyButton = h("button", { class: "nbt-button", textContent: "Apply" });
  const clearFilter = h("button", { class: "nbt-button nbt-quiet", textContent: "Clear", title: "Show every run" });
  const treeBox = h("input", { type: "checkbox" });
  const treeLabel = h("label", { class: "nbt-check", title: "Nest child runs under their parent" }, [treeBox, "Nest child runs"]);
  const constantBox = h("input", { type: "checkbox" });
  const constantLabel = h("label", { class: "nbt-check", title: "Hide the params, metrics and tags that have the same value in every run" },
    [constantBox, "Only differing columns"]);
  const count = h("span", { class: "nbt-count" });
  const compareButton = h("button", { class: "nbt-button nbt-primary", textContent: "Compare" });
  const unselectButton = h("button", { class: "nbt-button nbt-quiet", textContent: "Clear selection" });
  const viewSelect = h("select", { class: "nbt-view", title: "Which runs to list: deleted runs can be restored" },
    VIEWS.map(([value, label]) => h("option", { value, textContent: label })));
  const deleteButton = h("button", { class: "nbt-button nbt-delete", textContent: "Delete",
    title: "Delete the selected runs (the view “Deleted runs” restores them)" });
  const restoreButton = h("button", { class: "nbt-button nbt-restore", textContent: "Restore",
    title: "Restore the selected deleted runs" });
  const columnsButton = h("button", { class: "nbt-button nbt-quiet nbt-columns-button", textContent: "Columns",
    title: "Show, hide and pin columns (remembered with the experiment)" });
  const chooser = h("div", { class: "nbt-chooser", style: "display:none" });
  const exportButton = h("button", { class: "nbt-button nbt-quiet nbt-export", textContent: "Export CSV",
    title: "Download every shown run (all pages, this filter and sort) as CSV" });
  const title = h("div", { class: "nbt-title" });
  const error = h("div", { class: "nbt-error", role: "alert" });
  const note = h("div", { class: "nbt-note" });
  const thead = h("thead");
  const tbody = h("tbody");
  const table = h("table", { class: "nbt-table" }, [thead, tbody]);
  const scroller = h("div", { class: "nbt-scroll" }, [table]);
  const empty = h("div", { class: "nbt-empty" });
  const prev = h("button", { class: "nbt-button", textContent: "‹ Previous" });
  const next = h("button", { class: "nbt-button", textContent: "Next ›" });
  const pageInfo = h("span", { class: "nbt-pageinfo" });
  const sizeSelect = h("select", { class: "nbt-size", title: "Rows per page" },
    PAGE_SIZES.map((n) => h("option", { value: String(n), textContent: `${n} per page` })));
  const pager = h("div", { class: "nbt-pager" }, [prev, pageInfo, next, sizeSelect]);
  const toolbar = h("div", { class: "nbt-toolbar" }, [
    experimentSelect, viewSelect, filterBox, applyButton, clearFilter, treeLabel, constantLabel,
    h("span", { class: "nbt-spacer" }),
    count, compareButton, deleteButton, restoreButton, unselectButton, columnsButton, exportButton,
  ]);
  const root = h("div", { class: "nbt-runs" }, [title, toolbar, chooser, error, note, scroller, empty, pager]);
  el.append(root);

  /** A column's id in the saved choices: "metrics.rmse". @param {Column} c */
  const colId = (c) => `${c.group}.${c.key}`;
  /** The columns shown: not hidden, pinned ones right after name and status, and only
   * those whose values differ between runs when asked. @returns {Column[]} */
  const columns = () => {
    const prefs = model.get("column_prefs") || {};
    const hidden = new Set(prefs.hidden || []);
    /** @type {Column[]} */ const all = (model.get("columns") || []).filter((/** @type {Column} */ c) =>
      !hidden.has(colId(c)) && (!model.get("hide_constant") || c.varies || c.group === "attributes"));
    const lead = all.filter((c) => c.group === "attributes" && (c.key === "run_name" || c.key === "status"));
    const pins = (prefs.pinned || []).map((/** @type {string} */ p) => all.find((c) => colId(c) === p))
      .filter((/** @type {Column | undefined} */ c) => c && !lead.includes(c));
    return [...lead, ...pins, ...all.filter((c) => !lead.includes(c) && !pins.includes(c))];
  };
  /** @returns {Row[]} */ const rows = () => model.get("rows") || [];
  /** @returns {string[]} */ const selected = () => model.get("selected_run_ids") || [];

  /** @param {string} name @param {any} value */
  function save(name, value) {
    model.set(name, value);
    model.save_changes();
  }

  /** The ids of the runs on this page. @returns {string[]} */
  const pageIds = () => rows().filter((r) => r.id).map((r) => /** @type {string} */ (r.id));
  const allBox = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", title: "Select every run on this page" }));
  allBox.addEventListener("change", () => {
    const ids = pageIds();
    const keep = selected().filter((id) => !ids.includes(id));
    save("selected_run_ids", allBox.checked ? [...keep, ...ids] : keep);
  });
  let headDrawn = ""; // the columns and order the header shows: redrawn only when they change

  function drawHead() {
    const ids = pageIds();
    const sel = new Set(selected());
    allBox.checked = ids.length > 0 && ids.every((id) => sel.has(id));
    allBox.indeterminate = !allBox.checked && ids.some((id) => sel.has(id));
    const cols = columns();
    const wanted = JSON.stringify([cols, model.get("order_by")]);
    if (wanted === headDrawn) return;
    headDrawn = wanted;
    const groups = [];
    for (const col of cols) {
      const last = groups[groups.length - 1];
      if (last && last.group === col.group) last.span += 1;
      else groups.push({ group: col.group, span: 1 });
    }
    const order = parseOrder((model.get("order_by") || [])[0] || "");
    const groupRow = h("tr", { class: "nbt-groups" }, [
      h("th", { class: "nbt-select", rowSpan: 2 }, [allBox]),
      ...groups.map((g) => h("th", { colSpan: g.span, class: `nbt-group nbt-g-${g.group}` }, [GROUP_LABELS[g.group] || g.group])),
    ]);
    const keyRow = h("tr", { class: "nbt-keys" }, cols.map((col, i) => {
      const sorted = col.sort && col.sort === order.column ? order.dir : "";
      const th = h("th", {
        class: [
          `nbt-g-${col.group}`, col.varies ? "" : "nbt-constant", col.sort ? "nbt-sortable" : "",
          i > 0 && cols[i - 1].group !== col.group ? "nbt-first" : "",
          col.key === "run_name" && col.group === "attributes" ? "nbt-pin" : "",
        ].join(" "),
        title: col.sort
          ? `${col.group === "attributes" ? col.label : `${col.group}.${col.key}`}: click to sort${col.varies ? "" : " (same value in every run)"}`
          : col.label,
        dataset: { index: String(i) },
      }, [col.label, sorted ? h("span", { class: "nbt-arrow" }, [sorted === "ASC" ? " ▲" : " ▼"]) : ""]);
      return th;
    }));
    thead.replaceChildren(groupRow, keyRow);
  }

  // The body is drawn as HTML strings (one parse, no per-cell DOM calls): a page of 50
  // runs by 20 columns is over 2,000 elements. The rows in the scroll box's view go in at
  // once; those below its fold follow once that first screenful is painted and the page
  // is idle, as laying them all out first made every filter, sort and page turn wait
  // about twice as long.
  let drawn = 0; // counts body drawings: a newer one drops the rows an older one still owed

  /** What every row's HTML depends on, read from the model now. */
  function rowView() {
    return {
      cols: columns(),
      sel: new Set(selected()),
      tree: model.get("tree"),
      expanded: new Set(model.get("expanded") || []),
      collapsed: new Set(model.get("collapsed") || []),
      actions: model.get("actions"),
    };
  }

  /** @param {number} from @param {number} to */
  const rowsHtml = (from, to) => {
    const view = rowView();
    return rows().slice(from, to).map((row, i) => rowHtml(row, from + i, view)).join("");
  };

  function drawBody() {
    const all = rows();
    const fold = Math.ceil((scroller.scrollTop + scroller.clientHeight) / MIN_ROW_PX) + 2;
    const first = Math.max(FIRST_ROWS, fold);
    const drawing = ++drawn;
    tbody.innerHTML = rowsHtml(0, first);
    if (all.length > first) {
      const rest = () => {
        if (drawing === drawn) tbody.insertAdjacentHTML("beforeend", rowsHtml(first, all.length));
      };
      requestAnimationFrame(() => whenIdle(rest));
    }
    const none = model.get("view") === "deleted" ? "No deleted runs." : "No runs yet. Log one and it appears here.";
    empty.textContent = all.length ? "" : model.get("filter") ? "No run matches this filter." : none;
    empty.style.display = all.length ? "none" : "";
  }

  /** One row's HTML. @param {Row} row @param {number} index @param {ReturnType<typeof rowView>} view */
  function rowHtml(row, index, view) {
    const { cols, sel, tree, expanded, collapsed, actions } = view;
    if (row.more) {
      const label = `… ${row.hidden} more child run${row.hidden === 1 ? "" : "s"}: show more`;
      return tagHtml("tr", { class: "nbt-more" }, "<td></td>" +
        tagHtml("td", { colspan: cols.length, style: `padding-left:${8 + row.depth * 18}px` },
          tagHtml("button", { class: "nbt-link", "data-action": "more", "data-run": row.more }, esc(label))));
    }
    const id = /** @type {string} */ (row.id);
    const box = tagHtml("input", { type: "checkbox", checked: sel.has(id), title: "Select this run" });
    let name = "";
    if (tree && row.children && row.context) {
      const open = !collapsed.has(id);
      name += tagHtml("button", {
        class: "nbt-toggle",
        title: `${open ? "Hide" : "Show"} the child runs that match the filter`,
        "data-action": "collapse", "data-run": id,
      }, open ? "▾" : "▸");
    } else if (tree && row.children) {
      const open = expanded.has(id);
      name += tagHtml("button", {
        class: "nbt-toggle",
        title: `${open ? "Hide" : "Show"} ${row.children} child run${row.children === 1 ? "" : "s"}`,
        "data-action": "toggle", "data-run": id,
      }, open ? "▾" : "▸");
    } else {
      name += tagHtml("span", { class: "nbt-toggle-space" });
    }
    name += actions
      ? tagHtml("button", { class: "nbt-link nbt-name", title: `Open run ${id}`, "data-action": "open", "data-run": id }, clipped(row.name || id))
      : tagHtml("span", { class: "nbt-name", title: id }, clipped(row.name || id));
    if (tree && row.children) name += tagHtml("span", { class: "nbt-kids" }, `${row.children}`);
    if (row.context) {
      name += tagHtml("span", { class: "nbt-context-label",
        title: "This run does not match the filter; it is shown for its child runs that do" }, "context");
    }
    if (row.deleted) name += tagHtml("span", { class: "nbt-deleted-label" }, "deleted");
    if (actions) {
      name += tagHtml("button", { class: "nbt-chip nbt-edit", title: "Rename, note, tag, delete or restore this run",
        "data-action": "edit", "data-run": id }, "edit");
    }
    if (actions && row.descendants) {
      name += tagHtml("button", { class: "nbt-chip", title: `Parallel coordinates of the ${row.descendants} runs under this one`,
        "data-action": "sweep", "data-run": id }, "sweep");
    }
    if (actions && row.models) {
      name += tagHtml("button", { class: "nbt-chip nbt-register", title: "Register this run's model in the model registry",
        "data-action": "register", "data-run": id }, "register");
    }
    const tds = cols.map((col, i) => {
      const content = col.group === "attributes" && col.key === "run_name"
        ? tagHtml("span", { class: "nbt-namecell", style: `padding-left:${row.depth * 18}px` }, name)
        : cell(col, row);
      const cls = [`nbt-g-${col.group}`, col.group === "metrics" ? "nbt-right" : "",
        i > 0 && cols[i - 1].group !== col.group ? "nbt-first" : "",
        col.key === "run_name" && col.group === "attributes" ? "nbt-pin" : ""].join(" ");
      return tagHtml("td", { class: cls }, content);
    });
    const cls = [sel.has(id) ? "nbt-selected" : "", row.context ? "nbt-context" : "", row.deleted ? "nbt-deleted" : ""];
    return tagHtml("tr", { class: cls.join(" ").trim(), "data-id": id, "data-index": String(index) },
      tagHtml("td", { class: "nbt-select" }, box) + tds.join(""));
  }

  function drawSelection() {
    const sel = new Set(selected());
    for (const tr of tbody.querySelectorAll("tr[data-id]")) {
      const on = sel.has(/** @type {HTMLElement} */ (tr).dataset.id || "");
      tr.classList.toggle("nbt-selected", on);
      const box = /** @type {HTMLInputElement | null} */ (tr.querySelector("input[type=checkbox]"));
      if (box) box.checked = on;
    }
    redraw("head", "counts")();
  }

  function drawCounts() {
    const total = model.get("total") || 0;
    const n = selected().length;
    count.textContent = `${total.toLocaleString()} run${total === 1 ? "" : "s"}${n ? ` · ${n} selected` : ""}`;
    compareButton.disabled = n < 2;
    compareButton.textContent = n >= 2 ? `Compare ${n} runs` : "Compare";
    compareButton.title = n >= 2 ? "Compare the selected runs below" : "Select two or more runs to compare them";
    compareButton.style.display = model.get("actions") ? "" : "none";
    unselectButton.style.display = n ? "" : "none";
    const view = model.get("view") || "active";
    viewSelect.value = view;
    viewSelect.style.display = model.get("actions") ? "" : "none";
    deleteButton.style.display = model.get("actions") && n && view !== "deleted" ? "" : "none";
    restoreButton.style.display = model.get("actions") && n && view !== "active" ? "" : "none";
    deleteButton.textContent = `Delete ${n}`;
    restoreButton.textContent = `Restore ${n}`;
    const size = model.get("page_size") || 50;
    const pages = Math.max(1, Math.ceil((model.get("roots") || 0) / size));
    const page = model.get("page") || 0;
    prev.disabled = page <= 0;
    next.disabled = page >= pages - 1;
    const roots = model.get("roots") || 0;
    const first = roots ? page * size + 1 : 0;
    const last = Math.min(roots, (page + 1) * size);
    const what = model.get("tree") && roots !== total ? "top-level runs" : "runs";
    pageInfo.textContent = `Page ${page + 1} of ${pages} · ${what} ${first.toLocaleString()}–${last.toLocaleString()} of ${roots.toLocaleString()}`;
    if (!PAGE_SIZES.includes(size) && !sizeSelect.querySelector(`option[value="${size}"]`)) {
      sizeSelect.append(h("option", { value: String(size), textContent: `${size} per page` }));
    }
    sizeSelect.value = String(size);
    pager.style.display = roots > PAGE_SIZES[0] || page > 0 ? "" : "none";
  }

  function drawFilter() {
    // a filter the kernel rewrote (a bare key prefixed) replaces what was typed, even in focus
    const current = model.get("filter") || "";
    if (document.activeElement !== filterInput || current !== lastSent) {
      filterInput.value = current;
      lastSent = current;
    }
    const message = model.get("filter_error") || "";
    error.textContent = message;
    error.style.display = message ? "" : "none";
    filterInput.classList.toggle("nbt-invalid", Boolean(message));
    note.textContent = message ? "" : model.get("filter_note") || "";
    note.style.display = note.textContent ? "" : "none";
    filterInput.placeholder = model.get("placeholder") || "Filter: metrics.rmse < 1 and params.alpha = '0.5'";
    clearFilter.style.display = model.get("filter") || filterInput.value ? "" : "none";
    treeBox.checked = Boolean(model.get("tree"));
    treeLabel.style.display = model.get("tree_toggle") === false ? "none" : "";
    constantBox.checked = Boolean(model.get("hide_constant"));
    drawExperiments();
    title.textContent = model.get("title") || "";
    title.style.display = model.get("title") ? "" : "none";
  }

  function drawExperiments() {
    /** @type {string[][]} */ const choices = model.get("experiment_choices") || [];
    const current = model.get("experiment") || "";
    experimentSelect.style.display = choices.length && current ? "" : "none";
    const wanted = choices.map(([id, name]) => `${id}\u0000${name}`).join("\u0001");
    if (experimentSelect.dataset.options !== wanted) {
      experimentSelect.replaceChildren(...choices.map(([id, name]) =>
        h("option", { value: id, textContent: `Experiment: ${name}` })));
      experimentSelect.dataset.options = wanted;
    }
    experimentSelect.value = current;
  }

  function drawChooser() {
    if (chooser.style.display === "none") return;
    const prefs = model.get("column_prefs") || {};
    const hidden = new Set(prefs.hidden || []);
    const pinned = new Set(prefs.pinned || []);
    const rows = (model.get("columns") || [])
      .filter((/** @type {Column} */ c) => !(c.group === "attributes" && (c.key === "run_name" || c.key === "status")))
      .map((/** @type {Column} */ c) => {
        const id = colId(c);
        const show = h("input", { type: "checkbox", checked: !hidden.has(id), dataset: { col: id, what: "show" } });
        const pin = h("input", { type: "checkbox", checked: pinned.has(id), dataset: { col: id, what: "pin" } });
        return h("tr", { dataset: { col: id } }, [
          h("td", {}, [show]), h("td", {}, [pin]),
          h("td", {}, [c.group === "attributes" ? c.label : id]),
        ]);
      });
    chooser.replaceChildren(h("table", {}, [
      h("thead", {}, [h("tr", {}, [h("th", {}, ["Show"]), h("th", {}, ["Pin"]), h("th", {}, ["Column"])])]),
      h("tbody", {}, rows),
    ]));
  }

  function drawAll() {
    drawHead();
    drawBody();
    drawCounts();
    drawFilter();
  }

  // -- user input ---------------------------------------------------------------------

  const applyFilter = () => {
    if (filterInput.value.trim() === (model.get("filter") || "").trim() && !model.get("filter_error")) return;
    lastSent = filterInput.value.trim();
    save("filter", lastSent);
  };
  filterInput.addEventListener("keydown", (event) => {
    if (completion.onKey(/** @type {KeyboardEvent} */ (event))) {
      event.stopPropagation();
      return;
    }
    if (event.key === "Enter") applyFilter();
    if (event.key === "Escape") {
      filterInput.value = model.get("filter") || "";
      filterInput.blur();
    }
    event.stopPropagation(); // keep JupyterLab's notebook shortcuts out of the text box
  });
  filterInput.addEventListener("input", () => {
    clearFilter.style.display = model.get("filter") || filterInput.value ? "" : "none";
  });
  applyButton.addEventListener("click", applyFilter);
  viewSelect.addEventListener("change", () => save("view", viewSelect.value));
  deleteButton.addEventListener("click", () => model.send({ action: "delete" }));
  restoreButton.addEventListener("click", () => model.send({ action: "restore" }));
  clearFilter.addEventListener("click", () => {
    filterInput.value = "";
    save("filter", "");
  });
  treeBox.addEventListener("change", () => save("tree", treeBox.checked));
  constantBox.addEventListener("change", () => save("hide_constant", constantBox.checked));
  compareButton.addEventListener("click", () => model.send({ action: "compare" }));
  unselectButton.addEventListener("click", () => save("selected_run_ids", []));
  exportButton.addEventListener("click", () => model.send({ action: "export" }));
  columnsButton.addEventListener("click", () => {
    chooser.style.display = chooser.style.display === "none" ? "" : "none";
    drawChooser();
  });
  chooser.addEventListener("change", (event) => {
    const box = /** @type {HTMLInputElement} */ (event.target);
    const id = box.dataset.col;
    if (!id) return;
    const prefs = model.get("column_prefs") || {};
    const hidden = (prefs.hidden || []).filter((/** @type {string} */ x) => x !== id);
    const pinned = (prefs.pinned || []).filter((/** @type {string} */ x) => x !== id);
    if (box.dataset.what === "show" && !box.checked) hidden.push(id);
    if (box.dataset.what === "show" && box.checked && (prefs.pinned || []).includes(id)) pinned.push(id);
    if (box.dataset.what === "pin" && box.checked) pinned.push(id);
    if (box.dataset.what === "pin" && (prefs.hidden || []).includes(id)) hidden.push(id);
    save("column_prefs", { hidden, pinned });
  });
  experimentSelect.addEventListener("change", () => save("experiment", experimentSelect.value));
  /** The kernel's answer to Export CSV: save it as a file. @param {any} msg */
  const onCustom = (msg) => {
    if (!msg || typeof msg.csv !== "string") return;
    const url = URL.createObjectURL(new Blob([msg.csv], { type: "text/csv" }));
    const link = h("a", { href: url, download: msg.download || "runs.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  };
  model.on("msg:custom", onCustom);
  prev.addEventListener("click", () => save("page", Math.max(0, (model.get("page") || 0) - 1)));
  next.addEventListener("click", () => save("page", (model.get("page") || 0) + 1));
  sizeSelect.addEventListener("change", () => save("page_size", Number(sizeSelect.value)));

  thead.addEventListener("click", (event) => {
    const th = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (event.target).closest("th[data-index]"));
    if (!th) return;
    const col = columns()[Number(th.dataset.index)];
    if (!col || !col.sort) return;
    const order = parseOrder((model.get("order_by") || [])[0] || "");
    let next = [`${col.sort} ASC`];
    if (order.column === col.sort) next = order.dir === "ASC" ? [`${col.sort} DESC`] : [];
    save("order_by", next);
  });

  tbody.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = /** @type {HTMLElement | null} */ (target.closest("[data-action]"));
    if (button) {
      const run = button.dataset.run || "";
      const trait = { toggle: "expanded", collapse: "collapsed" }[button.dataset.action || ""];
      if (trait) {
        const runs = new Set(model.get(trait) || []);
        if (runs.has(run)) runs.delete(run);
        else runs.add(run);
        save(trait, [...runs]);
      } else {
        model.send({ action: button.dataset.action, run_id: run });
      }
      return;
    }
    const tr = /** @type {HTMLElement | null} */ (target.closest("tr[data-id]"));
    if (!tr) return;
    const index = Number(tr.dataset.index);
    const id = tr.dataset.id || "";
    const sel = selected();
    if (event.shiftKey && anchor !== null) {
      const lo = Math.min(anchor, index);
      const hi = Math.max(anchor, index);
      const range = rows().slice(lo, hi + 1).filter((r) => r.id).map((r) => /** @type {string} */ (r.id));
      save("selected_run_ids", [...new Set([...sel, ...range])]);
    } else {
      save("selected_run_ids", sel.includes(id) ? sel.filter((x) => x !== id) : [...sel, id]);
    }
    anchor = index;
  });

  // -- model changes ------------------------------------------------------------------

  // One kernel message changes several traits at once (rows, columns, total, page...):
  // each change only marks what it affects, and each part is drawn once, after them all.
  const parts = /** @type {Array<[string, () => void]>} */ ([
    ["body", drawBody], ["head", drawHead], ["counts", drawCounts], ["filter", drawFilter],
    ["chooser", drawChooser],
  ]);
  /** @type {Set<string>} */ const dirty = new Set();
  /** @param {...string} names */
  const redraw = (...names) => () => {
    if (!dirty.size) queueMicrotask(flush);
    for (const name of names) dirty.add(name);
  };
  function flush() {
    for (const [name, draw] of parts) {
      if (dirty.delete(name)) draw();
    }
  }
  const onColumns = redraw("head", "body", "chooser");
  const onFilter = redraw("filter");
  const onCounts = redraw("counts");
  const handlers = /** @type {Array<[string, () => void]>} */ ([
    ["change:columns", onColumns],
    ["change:rows", redraw("body", "head", "counts")],
    ["change:selected_run_ids", drawSelection],
    ["change:filter", onFilter],
    ["change:filter_error", onFilter],
    ["change:filter_note", onFilter],
    ["change:placeholder", onFilter],
    ["change:tree", onFilter],
    ["change:title", onFilter],
    ["change:tree_toggle", onFilter],
    ["change:experiment", onFilter],
    ["change:experiment_choices", onFilter],
    ["change:total", onCounts],
    ["change:roots", onCounts],
    ["change:page", onCounts],
    ["change:page_size", onCounts],
    ["change:view", onCounts],
    ["change:order_by", redraw("head")],
    ["change:expanded", redraw("body")],
    ["change:collapsed", redraw("body")],
    ["change:hide_constant", redraw("filter", "head", "body", "chooser")],
    ["change:column_prefs", onColumns],
  ]);
  for (const [event, fn] of handlers) model.on(event, fn);
  drawAll();
  // "5 min ago" ages: refresh those labels (only them) every half minute.
  const ticker = setInterval(() => {
    for (const span of tbody.querySelectorAll(".nbt-ago")) {
      const ms = Number(/** @type {HTMLElement} */ (span).dataset.ms);
      span.textContent = timeAgo(ms);
    }
  }, 30000);

  return () => {
    clearInterval(ticker);
    for (const [event, fn] of handlers) model.off(event, fn);
    model.off("msg:custom", onCustom);
    root.remove();
  };
}

export default { render };
