// UnionEyes admin dashboard: DOM helpers, served at /admin/dom.js. Elements are built with
// createElement / createElementNS and text is set with textContent only: API data (routes,
// tenant names, request ids) never becomes markup.

const SVG_NS = "http://www.w3.org/2000/svg";

/** The element with this id; throws if the page lacks it. */
export const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
};

/** An element: `el("td", {className: "num", data: {field: "count"}}, "12")`. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  applyProps(node, props);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** An SVG element: attributes set with setAttribute, children as nodes or text. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** The properties `el` accepts; anything else is a programming error. */
export function applyProps(node, props) {
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined) continue;
    if (k === "className") node.className = v;
    else if (k === "text") node.textContent = String(v);
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
    else if (k === "title") node.title = String(v);
    else if (k === "hidden") node.hidden = Boolean(v);
    else if (k === "type" || k === "scope" || k === "value" || k.startsWith("aria-")) {
      node.setAttribute(k, String(v));
    } else throw new Error(`unexpected property ${k}`);
  }
}

export function show(node, on = true) {
  node.hidden = !on;
}

/** A panel's message line (errors, empty days). `kind`: "error" | "empty" | null (hide). */
export function panelMessage(sectionId, kind, text) {
  const msg = $(sectionId).querySelector(".panel-msg");
  if (!msg) return;
  msg.textContent = text || "";
  msg.className = `panel-msg banner ${kind || ""}`;
  msg.hidden = !kind;
}
