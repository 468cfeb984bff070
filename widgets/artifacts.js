// A run's artifacts as a tree (nbtrack.panels.artifacts.ArtifactTree): folders open and
// close, each file is listed once with its size, choosing a file previews it, and the
// download buttons save a file (or a folder, zipped) from bytes the kernel sends over the
// widget's comm. The bytes become a Blob saved through a link placed in the page: browsers
// (JupyterLab, Notebook 7) download it, and VS Code's notebook webview saves `blob:` links
// itself. No Jupyter server route to the file is needed.

/**
 * @typedef {{ path: string, size: number | null, dir: boolean }} Entry
 * @typedef {{ entry: Entry, name: string, children: TreeNode[], files: number, bytes: number }} TreeNode
 */

const KEEP_URL_MS = 60000; // VS Code reads a clicked blob: link asynchronously

/** A size in binary units, as nbtrack.display.size writes it. */
export function formatSize(/** @type {number | null} */ bytes) {
  if (bytes === null || bytes === undefined) return "";
  if (bytes < 1024) return `${bytes} B`;
  let amount = bytes / 1024;
  for (const unit of ["KiB", "MiB"]) {
    if (amount < 1024) return `${amount.toFixed(1)} ${unit}`;
    amount /= 1024;
  }
  return `${amount.toFixed(1)} GiB`;
}

/** @param {string} tag @param {Record<string, string>} [attrs] @param {Array<Node | string>} [children] */
function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  el.append(.../** @type {any[]} */ (children));
  return el;
}

/** The entries as a tree of nodes, folders first, each with its file count and bytes. */
export function buildTree(/** @type {Entry[]} */ entries) {
  /** @type {Map<string, TreeNode>} */ const nodes = new Map();
  /** @type {TreeNode} */ const root = { entry: { path: "", size: null, dir: true }, name: "", children: [], files: 0, bytes: 0 };
  nodes.set("", root);
  for (const entry of entries) {
    nodes.set(entry.path, { entry, name: entry.path.split("/").pop() || entry.path, children: [], files: 0, bytes: 0 });
  }
  for (const entry of entries) {
    const cut = entry.path.lastIndexOf("/");
    const parent = nodes.get(cut < 0 ? "" : entry.path.slice(0, cut)) || root;
    const node = /** @type {TreeNode} */ (nodes.get(entry.path));
    parent.children.push(node);
    if (!entry.dir) {
      for (let p = entry.path; p.includes("/");) {
        p = p.slice(0, p.lastIndexOf("/"));
        const folder = nodes.get(p);
        if (folder) {
          folder.files += 1;
          folder.bytes += entry.size || 0;
        }
      }
      root.files += 1;
      root.bytes += entry.size || 0;
    }
  }
  for (const node of nodes.values()) {
    node.children.sort((a, b) => Number(b.entry.dir) - Number(a.entry.dir) || a.name.localeCompare(b.name));
  }
  return root;
}

/** Save bytes as a file through a link in the page (see the header). */
function save(/** @type {HTMLElement} */ el, /** @type {string} */ name, /** @type {any} */ data) {
  const url = URL.createObjectURL(new Blob([data], { type: "application/octet-stream" }));
  const link = h("a", { href: url, download: name, class: "nba-save" });
  el.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), KEEP_URL_MS);
}

/** @param {{ model: any, el: HTMLElement }} ctx */
function render({ model, el }) {
  const root = h("div", { class: "nba-root" });
  const bar = h("div", { class: "nba-bar" });
  const body = h("div", { class: "nba-body" });
  const tree = h("div", { class: "nba-tree", role: "tree" });
  const pane = h("div", { class: "nba-preview" });
  const status = h("div", { class: "nba-status", role: "status" });
  body.append(tree, pane);
  root.append(bar, status, body);
  el.append(root);

  const expanded = () => new Set(/** @type {string[]} */ (model.get("expanded") || []));
  const setExpanded = (/** @type {Set<string>} */ open) => {
    model.set("expanded", [...open]);
    model.save_changes();
  };

  /** Ask the kernel for a file's (or folder's) bytes; the reply arrives as a message. */
  const download = (/** @type {string} */ path) => {
    status.textContent = `Preparing ${path}…`;
    status.className = "nba-status";
    model.send({ event: "download", path });
  };

  const onMessage = (/** @type {any} */ msg, /** @type {any[]} */ buffers) => {
    if (!msg || msg.event !== "download") return;
    if (msg.error) {
      status.textContent = msg.error;
      status.className = "nba-status nba-error";
      return;
    }
    save(root, msg.name, buffers && buffers[0] ? buffers[0] : new Uint8Array());
    status.textContent = `Downloaded ${msg.name} (${formatSize(msg.size)}).`;
    status.className = "nba-status nba-done";
  };

  function row(/** @type {TreeNode} */ node, /** @type {number} */ depth, /** @type {Set<string>} */ open) {
    const { entry } = node;
    const isOpen = entry.dir && open.has(entry.path);
    const line = h("div", {
      class: `nba-row${entry.dir ? " nba-dir" : " nba-file"}${model.get("selected") === entry.path ? " nba-selected" : ""}`,
      "data-path": entry.path,
      role: "treeitem",
      style: `padding-left:${6 + depth * 16}px`,
    });
    if (entry.dir) line.setAttribute("aria-expanded", String(isOpen));
    const toggle = h("span", { class: "nba-toggle" }, [entry.dir ? (isOpen ? "▾" : "▸") : ""]);
    const name = h("span", { class: "nba-name", title: entry.path }, [entry.dir ? `${node.name}/` : node.name]);
    const size = h("span", { class: "nba-size" }, [
      entry.dir ? `${node.files} file${node.files === 1 ? "" : "s"} · ${formatSize(node.bytes)}` : formatSize(entry.size),
    ]);
    const get = h("button", {
      class: "nba-download",
      title: entry.dir ? `Download ${entry.path} as a zip file` : `Download ${entry.path}`,
      "aria-label": `Download ${entry.path}`,
    }, ["⤓"]);
    get.addEventListener("click", (event) => {
      event.stopPropagation();
      download(entry.path);
    });
    line.append(toggle, name, size, get);
    line.addEventListener("click", () => {
      if (entry.dir) {
        const now = expanded();
        if (now.has(entry.path)) now.delete(entry.path);
        else now.add(entry.path);
        setExpanded(now);
      } else {
        model.set("selected", entry.path);
        model.save_changes();
      }
    });
    return line;
  }

  function drawTree() {
    /** @type {Entry[]} */ const entries = model.get("entries") || [];
    const top = buildTree(entries);
    const open = expanded();
    const folders = entries.filter((e) => e.dir).map((e) => e.path);
    bar.replaceChildren();
    if (!entries.length) {
      bar.append(h("span", { class: "nba-empty" }, ["No artifacts logged."]));
      tree.replaceChildren();
      body.style.display = "none";
      return;
    }
    body.style.display = "";
    bar.append(h("span", { class: "nba-summary" }, [
      `${top.files} file${top.files === 1 ? "" : "s"} · ${formatSize(top.bytes)}`,
      model.get("truncated") ? " (only the first entries are listed)" : "",
    ]));
    if (folders.length) {
      const all = h("button", { class: "nba-link nba-expand-all" }, ["Expand all"]);
      all.addEventListener("click", () => setExpanded(new Set(folders)));
      const none = h("button", { class: "nba-link nba-collapse-all" }, ["Collapse all"]);
      none.addEventListener("click", () => setExpanded(new Set()));
      bar.append(all, none);
    }
    const rows = [];
    const walk = (/** @type {TreeNode} */ node, /** @type {number} */ depth) => {
      for (const child of node.children) {
        rows.push(row(child, depth, open));
        if (child.entry.dir && open.has(child.entry.path)) walk(child, depth + 1);
      }
    };
    walk(top, 0);
    tree.replaceChildren(...rows);
    root.dataset.files = String(top.files);
    root.dataset.rows = String(rows.length);
  }

  function drawPreview() {
    const p = model.get("preview") || {};
    pane.replaceChildren();
    pane.dataset.kind = p.kind || "";
    pane.dataset.path = p.path || "";
    if (!p.path) {
      pane.append(h("p", { class: "nba-hint" }, ["Choose a file to preview it."]));
      return;
    }
    const get = h("button", { class: "nba-link nba-download-selected" }, ["Download"]);
    get.addEventListener("click", () => download(p.path));
    pane.append(h("div", { class: "nba-preview-head" }, [
      h("code", {}, [p.path]), h("span", { class: "nba-size" }, [formatSize(p.size)]), get,
    ]));
    if (p.note) pane.append(h("p", { class: "nba-note" }, [p.note]));
    if (p.kind === "text") {
      pane.append(h("pre", { class: "nba-text" }, [p.text || ""]));
    } else if (p.kind === "image") {
      pane.append(h("img", { class: "nba-image", src: p.src, alt: p.path }));
    } else if (p.kind === "table") {
      const head = h("tr", {}, (p.header || []).map((/** @type {string} */ c) => h("th", {}, [c])));
      const rows = (p.rows || []).map((/** @type {string[]} */ r) => h("tr", {}, r.map((c) => h("td", {}, [c]))));
      pane.append(h("div", { class: "nba-table-wrap" }, [h("table", { class: "nba-table" }, [h("thead", {}, [head]), h("tbody", {}, rows)])]));
    } else if (p.kind === "html") {
      const box = h("div", { class: "nba-html" });
      box.innerHTML = p.html || ""; // built and escaped by the kernel (nbtrack.panels.previews)
      pane.append(box);
    }
  }

  const redrawTree = () => drawTree();
  const redrawAll = () => {
    drawTree();
    drawPreview();
  };
  redrawAll();
  const handlers = [
    ["change:entries", redrawTree],
    ["change:expanded", redrawTree],
    ["change:truncated", redrawTree],
    ["change:selected", redrawTree],
    ["change:preview", drawPreview],
    ["msg:custom", onMessage],
  ];
  for (const [event, handler] of handlers) model.on(event, handler);
  return () => {
    for (const [event, handler] of handlers) model.off(event, handler);
  };
}

export default { render };
