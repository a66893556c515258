// Small DOM helpers shared by the pages: build elements (never innerHTML with data), show
// progress and errors, empty states, tables and pagers. No inline styles or handlers (strict CSP).
import { DEFAULT_PAGE_SIZE } from "./api.js";

/**
 * el("button", {class: "primary", type: "button", on: {click: fn}}, "Save")
 * Props: class, text, on (event listeners), dataset, and any attribute (values true → "").
 * `style` and `on*` attributes are refused: the console runs under a strict CSP.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "on") Object.entries(value).forEach(([name, fn]) => node.addEventListener(name, fn));
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style" || key.startsWith("on")) throw new Error(`no ${key} attributes (CSP)`);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Show a message in a status element (role="status"): kind is info, busy, ok or error. */
export function say(target, text, kind = "info") {
  if (!target) return;
  target.textContent = text;
  target.className = `msg msg-${kind}`;
  target.hidden = !text;
}

/** A readable sentence for an error: the problem detail and its code. */
export function describe(error) {
  if (!error) return "Something went wrong.";
  const detail = error.detail || error.message || String(error);
  return error.code ? `${detail} (${error.code})` : detail;
}

/**
 * Run an action with progress: the button is disabled and marked busy, `status` shows
 * "<busy>…", then the returned text (or `done`) or the problem detail on failure.
 * Resolves to the action's result, or undefined when it failed (the failure is shown).
 */
export async function act({ button, status, busy = "Working", done, action }) {
  const buttons = [].concat(button || []);
  buttons.forEach((b) => {
    b.disabled = true;
    b.setAttribute("aria-busy", "true");
  });
  say(status, `${busy}…`, "busy");
  try {
    const result = await action();
    const message = typeof done === "function" ? done(result) : done;
    say(status, message || "Done.", "ok");
    return result;
  } catch (error) {
    say(status, `${busy} failed: ${describe(error)}`, "error");
    return undefined;
  } finally {
    buttons.forEach((b) => {
      b.disabled = false;
      b.removeAttribute("aria-busy");
    });
  }
}

/** A table: columns are [{label, cell: item => node|text, class?}]; empty → `empty` text. */
export function table({ caption, columns, items, empty, className = "data" }) {
  const head = el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.class }, c.label))));
  const body = el("tbody");
  if (!items.length) {
    body.append(el("tr", {}, el("td", { colSpan: columns.length, class: "empty" }, empty || "Nothing here yet.")));
  }
  for (const item of items) {
    body.append(el("tr", {}, columns.map((c) => el("td", { class: c.class }, c.cell(item)))));
  }
  return el("table", { class: className }, caption ? el("caption", {}, caption) : null, head, body);
}

/** An empty state: what is missing and what to do next. */
export function empty(text, ...next) {
  return el("div", { class: "empty-state" }, el("p", {}, text), ...next);
}

/**
 * A pager under a list: "Previous", "Page 2 of 5 (112 items)", "Next".
 * `load(page)` is called with the new page number.
 */
export function pager(result, load, label = "items") {
  const pages = result.pages || Math.max(1, Math.ceil((result.total || 0) / (result.pageSize || DEFAULT_PAGE_SIZE)));
  const prev = el("button", { type: "button", class: "secondary", disabled: result.page <= 1, on: { click: () => load(result.page - 1) } }, "Previous");
  const next = el("button", { type: "button", class: "secondary", disabled: result.page >= pages, on: { click: () => load(result.page + 1) } }, "Next");
  return el(
    "nav",
    { class: "pager", "aria-label": `Pages of ${label}` },
    prev,
    el("span", { class: "pageinfo" }, `Page ${result.page} of ${pages} (${result.total} ${label})`),
    next,
  );
}

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function fmtDate(value) {
  if (!value) return "—";
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T12:00:00`) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : DATE.format(date);
}

export function fmtDateTime(value) {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : DATE_TIME.format(date);
}

export function fmtNumber(value) {
  return value === null || value === undefined ? "—" : Number(value).toLocaleString();
}

/** A labelled form control: label wraps the text and the control (accessible name). */
export function field(labelText, control, hint) {
  return el("label", { class: "field" }, el("span", { class: "label" }, labelText), control, hint ? el("small", { class: "hint" }, hint) : null);
}

/** A small status badge: kind becomes a class (badge-ok, badge-warn, badge-bad). */
export function badge(text, kind = "") {
  return el("span", { class: `badge ${kind ? `badge-${kind}` : ""}`.trim() }, text);
}

/** <option>s for a <select>: [{value, label}], with an optional first "any" option. */
export function options(items, anyLabel) {
  const list = anyLabel !== undefined ? [el("option", { value: "" }, anyLabel)] : [];
  return list.concat(items.map((item) => el("option", { value: String(item.value) }, item.label)));
}

/** Form values as a plain object (empty strings kept; callers drop what they do not send). */
export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
