// Small helpers shared by the views: elements, numbers, times, colours.

/** An element: el("td", {class: "num"}, "12.5", child, ...). Text is always text, never HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Replace a table's body with ``rows``, or one "empty" row saying ``empty``. */
export function fillBody(table, rows, empty) {
  const body = table.tBodies[0];
  const columns = table.tHead.rows[0].cells.length;
  if (rows.length === 0) {
    body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: columns }, empty)));
  } else {
    body.replaceChildren(...rows);
  }
}

export const DASH = "—";

/** Decimals a tick size implies (0.25 → 2, 0.00001 → 5). */
export function decimalsOf(tick) {
  if (tick === undefined || tick === null) return null;
  const text = String(tick);
  if (text.includes("e-")) return Number(text.split("e-")[1]);
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** A price, with the decimals of its instrument when known. */
export function price(value, decimals = null) {
  if (value === undefined || value === null || value === "") return DASH;
  const n = Number(value);
  if (!Number.isFinite(n)) return DASH;
  if (decimals === null) return String(value);
  return n.toLocaleString(undefined, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Money: two decimals, thousands grouped. */
export function money(value) {
  if (value === undefined || value === null) return DASH;
  const n = Number(value);
  if (!Number.isFinite(n)) return DASH;
  return n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** A quantity as the server wrote it (exact), grouped. */
export function qty(value) {
  if (value === undefined || value === null) return DASH;
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: 8 });
}

/** "pos" / "neg" / "" for colouring a P&L. */
export function sign(value) {
  const n = Number(value);
  if (!Number.isFinite(n) || n === 0) return "";
  return n > 0 ? "pos" : "neg";
}

/** "buy" / "sell" for colouring a side (Buy, Sell, Long, Short, BuyToCover, SellShort...). */
export function sideClass(side) {
  const s = String(side || "").toLowerCase();
  if (s.startsWith("buy") || s === "long") return "buy";
  if (s.startsWith("sell") || s === "short") return "sell";
  return "";
}

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTime = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

/** A time in the viewer's zone: the clock time today, with the date otherwise. */
export function when(value) {
  if (value === undefined || value === null || value === "") return DASH;
  const date = typeof value === "number" ? new Date(value) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const today = new Date();
  return date.toDateString() === today.toDateString() ? timeOnly.format(date) : dateTime.format(date);
}

/** A button that runs ``action`` once at a time (disabled while it runs). */
export function actionButton(label, action, attrs = {}) {
  const button = el("button", { type: "button", class: "small", ...attrs }, label);
  button.addEventListener("click", async (event) => {
    event.stopPropagation();
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** Run ``fn`` at most once per animation frame, however often it is asked for. */
export function batched(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fn();
    });
  };
}
