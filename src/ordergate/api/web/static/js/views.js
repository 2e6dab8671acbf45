// The tables: each renders from the State; the buttons call ``actions``.

import { DASH, actionButton, decimalsOf, el, fillBody, money, price, qty, sideClass, sign, when } from "./util.js";

const $ = (id) => document.getElementById(id);

function num(text, cls = "") {
  return el("td", { class: `num ${cls}`.trim() }, text);
}

function decimalsFor(state, instrument) {
  const quote = state.quotes.get(instrument);
  return quote ? decimalsOf(quote.tickSize) : null;
}

export function renderAccounts(state, actions) {
  const rows = [...state.accounts.values()].map((a) => {
    const pnl = state.sessionPnl(a.name);
    const monitor = state.monitors.get(a.name);
    const killed = state.kill && state.kill.accounts ? state.kill.accounts[a.name] : undefined;
    const killCell = el("td", { class: "kill" });
    if (state.kill === null) killCell.append(DASH);
    else {
      killCell.append(el("span", { class: killed ? "state-on" : "dim" }, killed ? "ON" : "off"), " ");
      if (actions.setKill) {
        killCell.append(actionButton(killed ? "Release" : "Engage", () => actions.setKill(a.name, !killed)));
      }
    }
    return el(
      "tr",
      { dataset: { account: a.name } },
      el("td", {}, a.name),
      num(money(a.cash)),
      num(money(a.equity)),
      num(pnl === null ? DASH : money(pnl), sign(pnl)),
      num(money(a.margin)),
      el("td", { class: "monitor", title: (monitor && monitor.locked) || "" }, monitor ? monitor.state : DASH),
      killCell,
    );
  });
  fillBody($("accounts"), rows, "No accounts");
}

export function renderOrders(state, actions) {
  const orders = state.workingOrders();
  const rows = orders.map((o) => {
    const d = decimalsFor(state, o.instrument);
    const cells = [
      el("td", {}, when(o.time)),
      el("td", {}, o.account),
      el("td", {}, o.instrument),
      el("td", { class: sideClass(o.action) }, o.action),
      el("td", {}, o.orderType),
      num(qty(o.quantity)),
      num(qty(o.filled)),
      num(Number(o.limitPrice) ? price(o.limitPrice, d) : DASH),
      num(Number(o.stopPrice) ? price(o.stopPrice, d) : DASH),
      el("td", {}, o.timeInForce),
      el("td", { class: "order-state" }, o.orderState),
    ];
    const buttons = el("td", { class: "actions" });
    if (actions.cancel) buttons.append(actionButton("Cancel", () => actions.cancel(o), { class: "small danger" }));
    return el(
      "tr",
      { class: "clickable", dataset: { orderId: o.orderId }, onclick: () => actions.lifecycle(o) },
      ...cells,
      buttons,
    );
  });
  $("orders-count").textContent = orders.length ? `(${orders.length})` : "";
  fillBody($("orders"), rows, "No working orders");
}

export function renderPositions(state, actions) {
  const rows = [...state.positions.values()].map((p) => {
    const d = decimalsFor(state, p.instrument);
    const { market, pnl } = state.unrealized(p);
    const buttons = el("td", { class: "actions" });
    for (const [label, action] of actions.position || []) {
      buttons.append(actionButton(label, () => action(p)));
    }
    return el(
      "tr",
      { dataset: { account: p.account, instrument: p.instrument } },
      el("td", {}, p.account),
      el("td", {}, p.instrument),
      el("td", { class: sideClass(p.marketPosition) }, p.marketPosition),
      num(qty(p.quantity)),
      num(price(p.averagePrice, d)),
      num(price(market, d)),
      num(money(pnl), `unrealized ${sign(pnl)}`),
      buttons,
    );
  });
  fillBody($("positions"), rows, "No positions");
}

export function renderFills(state) {
  const rows = state.fills.map((f) =>
    el(
      "tr",
      { dataset: { orderId: f.orderId } },
      el("td", {}, when(f.time)),
      el("td", {}, f.account),
      el("td", {}, f.instrument),
      el("td", { class: sideClass(f.action) }, f.action),
      num(qty(f.quantity)),
      num(price(f.price, decimalsFor(state, f.instrument))),
    ),
  );
  fillBody($("fills"), rows, "No fills");
}

export function renderQuotes(state, actions) {
  const board = [...state.watchlist, ...state.known().filter((n) => !state.watchlist.includes(n))];
  const rows = board.map((name) => {
    const q = state.quotes.get(name) || {};
    const d = decimalsOf(q.tickSize);
    const reference = q.close ?? q.open;
    const change = q.last !== undefined && q.last !== null && reference ? q.last - reference : null;
    return el(
      "tr",
      { class: "clickable", dataset: { instrument: name }, onclick: () => actions.pick(name) },
      el("td", {}, name, q.isMarketOpen === false ? el("span", { class: "dim" }, " (closed)") : null),
      num(price(q.bid, d), "buy"),
      num(price(q.ask, d), "sell"),
      num(price(q.last, d)),
      num(change === null ? DASH : price(change, d), sign(change)),
      el("td", {}, when(q.quoteTime)),
    );
  });
  fillBody($("quotes"), rows, "Add an instrument");
}

function alertDetail(a) {
  if (a.error) return a.detail ? `${a.error}: ${a.detail}` : a.error;
  const parts = [];
  if (a.orderIds && a.orderIds.length) parts.push(`orders ${a.orderIds.map((id) => id.slice(0, 8)).join(", ")}`);
  if (a.warnings && a.warnings.length) parts.push(a.warnings.join("; "));
  return parts.join(" · ") || DASH;
}

export function renderAlerts(state) {
  const rows = state.alerts.map((a) => {
    const bad = a.status !== "Success" && a.status !== "Pending";
    return el(
      "tr",
      { dataset: { alertId: a.alertId } },
      el("td", {}, when(a.receivedAt)),
      el("td", {}, a.command || DASH),
      el("td", { class: bad ? "neg" : "pos" }, a.status),
      el("td", {}, (a.accounts || []).join(", ") || DASH),
      el("td", { class: "detail", title: a.raw || "" }, alertDetail(a)),
    );
  });
  fillBody($("alerts"), rows, "No alerts");
}

export function renderLog(state, available) {
  const rows = state.log.map((entry) =>
    el(
      "tr",
      {},
      el("td", {}, when(entry.time ?? entry.at ?? entry.timestamp)),
      el("td", {}, entry.account || DASH),
      el("td", {}, entry.event ?? entry.action ?? entry.kind ?? entry.type ?? DASH),
      el("td", {}, entry.message ?? entry.reason ?? entry.detail ?? DASH, entry.actor ? el("span", { class: "dim" }, ` (${entry.actor})`) : null),
    ),
  );
  fillBody($("log"), rows, available ? "No entries" : DASH);
}

/** The answer of a bulk operation (cancel all, by instrument, flatten...): what went, what did not. */
export function showReport(title, answer, failed = false) {
  const box = $("report");
  const refused = (answer && answer.notCancelled) || [];
  const accepted = (answer && answer.orderIds) || [];
  box.hidden = false;
  box.className = `report${failed || refused.length ? " bad" : ""}`;
  const parts = [el("h3", {}, title)];
  if (answer && answer.error) parts.push(el("p", { class: "neg" }, answer.error));
  parts.push(el("p", { class: "accepted" }, `${accepted.length} accepted`));
  if (accepted.length) {
    parts.push(el("ul", { class: "accepted-list" }, ...accepted.map((id) => el("li", {}, el("code", {}, id)))));
  }
  parts.push(el("p", { class: "refused" }, `${refused.length} not cancelled`));
  if (refused.length) {
    parts.push(
      el(
        "ul",
        { class: "refused-list" },
        ...refused.map((r) => el("li", {}, el("code", {}, r.orderId), " ", el("strong", {}, r.code), ": ", r.error)),
      ),
    );
  }
  box.replaceChildren(...parts);
}

/** A one-line answer in the report box (a close, a single cancel refused...). */
export function showMessage(title, text, failed) {
  const box = $("report");
  box.hidden = false;
  box.className = `report${failed ? " bad" : ""}`;
  box.replaceChildren(el("h3", {}, title), el("p", { class: failed ? "neg" : "" }, text));
}

export function showLifecycle(order, answer) {
  $("lc-title").textContent = `${order.instrument} ${order.action} ${qty(order.quantity)} ${order.orderType} — ${order.orderId}`;
  const events = (answer && answer.events) || [];
  const rows = events.map((e) =>
    el(
      "tr",
      {},
      el("td", {}, when(e.time)),
      el("td", {}, e.type),
      el("td", {}, e.fromState || DASH),
      el("td", {}, e.toState || (e.price !== undefined ? `fill ${qty(e.quantity)} @ ${e.price}` : DASH)),
      el("td", {}, e.reason || DASH),
      el("td", {}, e.actor || DASH),
    ),
  );
  fillBody($("lc-events"), rows, "No events");
  const dialog = $("lifecycle");
  if (!dialog.open) dialog.showModal();
}
