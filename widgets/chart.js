// One nbtrack chart's view. It holds no drawing code: the chart library (charts.js) comes
// once per page from the shared ChartLibrary model this chart references, is imported
// once, and is cached on globalThis by its digest, so every later chart costs only its
// data. The library's CSS is added to the page once, with it.

const CACHE = "__nbtrackCharts";
const WAIT_MS = 20000; // how long a view waits for the library model to be registered

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The library model: after a page reload, models are restored in any order, so wait. */
async function libraryModel(/** @type {any} */ model) {
  const id = String(model.get("library") || "").replace(/^IPY_MODEL_/, "");
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      return await model.widget_manager.get_model(id);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** @param {any} model @returns {Promise<any>} */
function load(model) {
  const cache = /** @type {Map<string, Promise<any>>} */ (
    /** @type {any} */ (globalThis)[CACHE] ??= new Map()
  );
  const digest = String(model.get("library_digest"));
  let found = cache.get(digest);
  if (!found) {
    found = (async () => {
      const library = await libraryModel(model);
      const style = document.createElement("style");
      style.dataset.nbtrackCharts = digest;
      style.textContent = library.get("css");
      document.head.append(style);
      const url = URL.createObjectURL(new Blob([library.get("code")], { type: "text/javascript" }));
      try {
        return await import(/* webpackIgnore: true */ url);
      } finally {
        URL.revokeObjectURL(url);
      }
    })();
    found.catch(() => cache.delete(digest)); // a later view tries again
    cache.set(digest, found);
  }
  return found;
}

/** @param {{ model: any, el: HTMLElement }} ctx */
async function render({ model, el }) {
  const charts = await load(model);
  return charts.render(model, el);
}

export default { render };
