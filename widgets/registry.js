// The registry browser's versions table (nbtrack/panels/registry.py): the table's HTML is
// made in Python; a click on a version's source run asks Python to open its detail.

/** @param {{ model: any, el: HTMLElement }} args @returns {() => void} the cleanup */
export function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "nbtrack-versions";
  const draw = () => {
    root.innerHTML = model.get("value");
  };
  const click = (/** @type {MouseEvent} */ event) => {
    const link = /** @type {HTMLElement | null} */ (
      /** @type {HTMLElement} */ (event.target).closest("[data-run]"));
    if (!link) return;
    event.preventDefault();
    model.send({ action: "open_run", run_id: link.dataset.run });
  };
  root.addEventListener("click", click);
  model.on("change:value", draw);
  draw();
  el.append(root);
  return () => {
    model.off("change:value", draw);
    root.removeEventListener("click", click);
  };
}

export default { render };
