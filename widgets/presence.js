// Tells Python when a panel is on screen: one "attached" per view rendered and one
// "detached" when that view goes away (cell output cleared, panel closed), so the
// panel polls the store only while someone can see it.

/** @param {{ model: import("@anywidget/types").AnyModel }} ctx */
function render({ model }) {
  model.send({ event: "attached" });
  return () => model.send({ event: "detached" });
}

export default { render };
