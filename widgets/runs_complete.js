// nbtrack run table, part 2 of 3: completion of keys in the filter box.
//
// As the user types a word, a small list under the box offers the keys of the runs'
// experiment that start with it (the model's filter_keys: "metrics.rmse", "params.alpha",
// "tags.team", "attributes.status", ...); a bare word also matches the key after its
// prefix, so "rm" offers metrics.rmse. ArrowUp/ArrowDown move, Tab or Enter accept,
// Escape closes; a click accepts too. Nothing is offered inside a quoted value.

const MAX_SUGGESTIONS = 12;
const WORD_BEFORE_CARET = /(?:^|[\s(,])([A-Za-z_`][\w.\-`]*)$/;

/** The key without its prefix and backticks: "metrics.`a b`" → "a b". @param {string} key */
function bareKey(key) {
  const dot = key.indexOf(".");
  return (dot < 0 ? key : key.slice(dot + 1)).replace(/`/g, "");
}

/** The keys that complete a word: prefix matches first, then bare-key matches.
 * @param {string} word @param {string[]} keys @returns {string[]} */
function suggestions(word, keys) {
  const w = word.replace(/`/g, "").toLowerCase();
  if (!w) return [];
  const whole = keys.filter((k) => k.replace(/`/g, "").toLowerCase().startsWith(w));
  const bare = w.includes(".") ? [] : keys.filter((k) => !whole.includes(k) && bareKey(k).toLowerCase().startsWith(w));
  return [...whole, ...bare].filter((k) => k.replace(/`/g, "").toLowerCase() !== w).slice(0, MAX_SUGGESTIONS);
}

/** The word being typed before the caret, or null inside a quoted value.
 * @param {HTMLInputElement} input @returns {{ start: number, end: number, word: string } | null} */
function wordAtCaret(input) {
  const end = input.selectionStart ?? input.value.length;
  const before = input.value.slice(0, end);
  const quotes = (before.match(/'/g) || []).length + (before.match(/"/g) || []).length;
  if (quotes % 2 === 1) return null;
  const m = WORD_BEFORE_CARET.exec(before);
  if (!m) return null;
  return { start: end - m[1].length, end, word: m[1] };
}

/**
 * Attach key completion to the filter box.
 * @param {HTMLInputElement} input
 * @param {() => string[]} keys the keys offered now
 * @param {() => void} changed called after a completion was inserted
 */
function attachCompletion(input, keys, changed) {
  const list = h("ul", { class: "nbt-complete", role: "listbox" });
  list.style.display = "none";
  /** @type {string[]} */ let shown = [];
  let active = 0;
  /** @type {{ start: number, end: number, word: string } | null} */ let at = null;

  function close() {
    list.style.display = "none";
    shown = [];
  }
  function draw() {
    list.replaceChildren(...shown.map((key, i) => h("li", {
      class: i === active ? "nbt-active" : "", role: "option", dataset: { index: String(i) },
      title: "Tab or Enter to insert",
    }, [key])));
    list.style.display = shown.length ? "" : "none";
  }
  function update() {
    at = wordAtCaret(input);
    shown = at ? suggestions(at.word, keys()) : [];
    active = 0;
    draw();
  }
  /** @param {number} index */
  function accept(index) {
    if (!at || !shown[index]) return;
    const key = shown[index];
    const value = input.value;
    const tail = value.slice(at.end);
    const gap = tail.startsWith(" ") ? "" : " ";
    input.value = value.slice(0, at.start) + key + gap + tail;
    const caret = at.start + key.length + gap.length;
    input.setSelectionRange(caret, caret);
    close();
    changed();
  }
  /** Handle a key press in the box; true when it was the list's. @param {KeyboardEvent} event */
  function onKey(event) {
    if (!shown.length) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      active = (active + (event.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
      draw();
    } else if (event.key === "Tab" || event.key === "Enter") {
      accept(active);
    } else if (event.key === "Escape") {
      close();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }
  input.addEventListener("input", update);
  input.addEventListener("blur", () => setTimeout(close, 150));
  // mousedown, not click: the box keeps its focus (and its caret) while a key is chosen
  list.addEventListener("mousedown", (event) => {
    const li = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (event.target).closest("li"));
    if (!li) return;
    event.preventDefault();
    accept(Number(li.dataset.index));
  });
  return { list, onKey, close };
}
