// The blotter of a ScaleTrade client session (login and password): the account, its open
// trades and pending orders, live from the ScaleTrade stream at "/". Read-only but for
// cancelling orders and closing trades; placing orders needs a CrossTrade token.

import { ApiError, call, serverUrl } from "./api.js";
import { State } from "./state.js";
import { batched } from "./util.js";
import * as views from "./views.js";

const $ = (id) => document.getElementById(id);

const TYPES = { 0: "Market", 1: "Market", 2: "Limit", 3: "Limit", 4: "StopMarket", 5: "StopMarket", 10: "StopLimit", 11: "StopLimit" };

/** Sign a login in: the profile with its session JWT (``__token``). */
export async function signIn(login, password) {
  const profile = await call("POST", "/sign/in", { body: { login: Number(login), password } });
  if (profile.type !== 0) {
    throw new Error("A staff login signs in to the blotter with a CrossTrade token; use an account login here.");
  }
  return profile;
}

function rowsOf(answer) {
  const columns = answer.structure || [];
  return (answer.rows || []).map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
}

export class ScaleTradeBlotter {
  constructor(profile, { onState, onUnauthorized }) {
    this.profile = profile;
    this.login = profile.login;
    this.name = profile.name || String(profile.login);
    this.headers = { Authorization: profile.__token };
    this.state = new State();
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.stopped = false;
    this.render = batched(() => this.renderAll());
    this.reload = debounce(() => this.loadTrades(), 150);
    this.orderActions = { cancel: (o) => this.act("DELETE", "/trade/cancel", { order: o.orderId }, `Cancel ${o.orderId}`), lifecycle: () => {} };
    this.positionActions = { position: [["Close", (p) => this.act("DELETE", "/trade/close", { order: p.ticket }, `Close ${p.ticket}`)]] };
  }

  async start() {
    $("ticket").hidden = true;
    $("chart-panel").hidden = true; // the chart reads CrossTrade bars
    $("ticket-panel").append(Object.assign(document.createElement("p"), {
      className: "hint st-note",
      textContent: "ScaleTrade sessions are read-only here (cancel and close only): sign in with a CrossTrade token to place orders.",
    }));
    $("cancel-all").onclick = () => this.act("DELETE", "/trade/cancel/group", { login: this.login }, `Cancel all of ${this.name}`);
    $("cancel-by-instrument").onclick = () => {
      const symbol = $("cancel-instrument").value;
      this.act("DELETE", "/trade/cancel/group", { login: this.login, symbol }, `Cancel ${symbol} in ${this.name}`);
    };
    await this.loadBalance();
    await this.loadTrades();
    this.connect();
  }

  stop() {
    this.stopped = true;
    if (this.socket) this.socket.close(1000);
    document.querySelectorAll(".st-note").forEach((n) => n.remove());
    $("ticket").hidden = false;
  }

  get(path) {
    return call("GET", path, { headers: this.headers });
  }

  async loadBalance() {
    this.applyBalance(await this.get("/account/balance"));
  }

  applyBalance(b) {
    this.state.accounts.set(this.name, {
      name: this.name, cash: b.balance, equity: b.equity, margin: b.margin, unrealized: b.profit, sessionBase: null,
    });
    this.render();
  }

  async loadTrades() {
    const [open, pending] = await Promise.all([
      this.get(`/trades?login=${this.login}&tradeType=1`),
      this.get(`/trades?login=${this.login}&tradeType=3`),
    ]);
    const s = this.state;
    s.orders.clear();
    s.positions.clear();
    for (const t of rowsOf(pending)) {
      const limit = TYPES[t.cmd] === "StopMarket" ? 0 : t.open_price;
      const stop = TYPES[t.cmd] === "StopMarket" || TYPES[t.cmd] === "StopLimit" ? t.open_price : 0;
      s.orders.set(t.order, {
        orderId: t.order, account: this.name, instrument: t.symbol, action: t.cmd % 2 === 0 ? "Buy" : "Sell",
        orderType: TYPES[t.cmd] || String(t.cmd), quantity: t.volume / 100, filled: 0, limitPrice: limit,
        stopPrice: stop, timeInForce: t.expiration ? "Gtd" : "Gtc", orderState: "Working",
        time: t.open_time * 1000, epoch: t.open_time * 1000,
      });
    }
    for (const t of rowsOf(open)) {
      s.positions.set(t.order, {
        ticket: t.order, account: this.name, instrument: `${t.symbol} #${t.order}`,
        marketPosition: t.cmd % 2 === 0 ? "Long" : "Short", quantity: t.volume / 100,
        averagePrice: t.open_price, marketPrice: null, unrealizedProfitLoss: t.profit,
      });
    }
    this.subscribe([...new Set([...rowsOf(open), ...rowsOf(pending)].map((t) => t.symbol))]);
    this.render();
  }

  connect() {
    this.onState("connecting");
    const socket = new WebSocket(serverUrl("/", "ws"));
    this.socket = socket;
    socket.addEventListener("open", () => socket.send(JSON.stringify({ authorization: this.headers.Authorization })));
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", () => {
      this.onState("off");
      if (!this.stopped) setTimeout(() => this.connect(), 2000);
    });
  }

  subscribe(symbols) {
    const fresh = symbols.filter((s) => !this.state.watchlist.includes(s));
    if (!fresh.length) return;
    this.state.watchlist.push(...fresh);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ event: "subscribe", data: fresh }));
    }
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!Array.isArray(frame)) {
      if (frame.event === "authorization" && frame.success) {
        this.onState("live");
        if (this.state.watchlist.length) this.socket.send(JSON.stringify({ event: "subscribe", data: this.state.watchlist }));
      } else if (frame.event === "authorization") {
        this.onUnauthorized();
      }
      return;
    }
    const [kind] = frame;
    if (kind === "t") {
      const [, symbol, bid, ask, ctm] = frame;
      this.state.setQuote({ instrument: symbol, bid, ask, quoteTime: ctm });
      this.render();
    } else if (kind === "b") {
      const [, , balance, margin, , , equity, , , profit] = frame;
      this.applyBalance({ balance, margin, equity, profit });
    } else if (kind === "o") {
      this.reload();
    }
  }

  /** A cancel or close: its answer in the report box. */
  async act(method, path, body, title) {
    try {
      const answer = await call(method, path, { headers: this.headers, body });
      this.report(title, answer, false);
    } catch (error) {
      if (error instanceof ApiError) this.report(title, error.body || {}, true);
      else views.showMessage(title, error.message, true);
    }
    this.reload();
  }

  report(title, answer, failed) {
    if (answer.rows || answer.failures) {
      views.showReport(title, {
        orderIds: (answer.rows || []).filter((r) => r.accepted).map((r) => String(r.order)),
        notCancelled: (answer.failures || []).map((f) => ({ orderId: String(f.order), code: f.error, error: f.message })),
        error: failed ? answer.message : undefined,
      }, failed);
    } else {
      views.showMessage(title, failed ? `${answer.error}: ${answer.message}` : "Sent.", failed);
    }
  }

  renderAll() {
    const s = this.state;
    views.renderAccounts(s, {});
    views.renderOrders(s, this.orderActions);
    views.renderPositions(s, this.positionActions);
    views.renderFills(s);
    views.renderQuotes(s, { pick: () => {} });
    views.renderAlerts(s);
    views.renderLog(s, false);
    const working = [...new Set(s.workingOrders().map((o) => o.instrument))].sort();
    $("cancel-instrument").replaceChildren(...working.map((n) => new Option(n, n)));
    $("cancel-by-instrument").disabled = working.length === 0;
  }
}

function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}
