// The blotter of a CrossTrade principal: loads through REST, then lives on /ws/stream.

import { ApiError, CrossTrade, Stream } from "./api.js";
import { Chart } from "./chart.js";
import { State } from "./state.js";
import { Ticket } from "./ticket.js";
import { batched, el } from "./util.js";
import * as views from "./views.js";

const $ = (id) => document.getElementById(id);

const DEFAULT_WATCHLIST = ["ES", "NQ", "EURUSD", "XAUUSD", "BTCUSD"];
const WATCHLIST_KEY = "ordergate.watchlist";

function errorText(error) {
  if (error instanceof ApiError && error.body) {
    const body = error.body;
    return body.code ? `${body.code}: ${body.error}` : body.error || body.message || error.message;
  }
  return error.message;
}

export class Blotter {
  constructor(token, { onState, onUnauthorized }) {
    this.api = new CrossTrade(token);
    this.state = new State();
    this.brackets = new Map(); // entry orderId -> {args, bracket}
    this.subscribed = new Set(); // instruments whose quotes this connection asked for
    this.queue = Promise.resolve(); // the subscribe requests, one after the other
    this.onUnauthorized = onUnauthorized;
    this.render = batched(() => this.renderAll());
    this.renderQuotes = batched(() => {
      views.renderQuotes(this.state, this.quoteActions);
      views.renderPositions(this.state, this.positionActions);
      views.renderAccounts(this.state, this.accountActions);
    });
    this.stream = new Stream(token, {
      onFrame: (frame) => this.onFrame(frame),
      onState,
      onOpen: () => this.onOpen(),
    });
    this.ticket = new Ticket({
      place: (args) => this.place(args),
      lockOf: (account) => this.state.lockOf(account),
      onBracketArmed: (orderId, args, bracket) => this.brackets.set(orderId, { args, bracket }),
    });
    this.chart = new Chart(async (instrument, period) => {
      const answer = await this.api.post("/market/bars", { instrument, periodType: "minute", period, barsBack: 300 });
      return answer.bars || [];
    });
    this.orderActions = {
      cancel: (o) => this.cancelOne(o),
      lifecycle: (o) => this.lifecycle(o),
    };
    this.positionActions = {
      position: [
        ["Close", (p) => this.positionOp("Close", "close", p)],
        ["Flatten", (p) => this.positionOp("Flatten", "flatten", p)],
        ["Reverse", (p) => this.positionOp("Reverse", "reverse", p)],
      ],
    };
    this.accountActions = { setKill: (account, on) => this.setKill(account, on) };
    this.quoteActions = {
      pick: (name) => {
        this.ticket.setInstrument(name);
        this.chart.show(name);
      },
    };
    this.bindToolbar();
  }

  async start() {
    // Fails (401) before anything is shown when the token is not valid.
    const accounts = await this.api.get("/accounts");
    this.state.watchlist = JSON.parse(localStorage.getItem(WATCHLIST_KEY) || "null") || [...DEFAULT_WATCHLIST];
    await this.load(accounts.accounts || []);
    this.stream.start();
  }

  stop() {
    this.stream.stop();
  }

  async load(accounts) {
    const names = accounts.map((a) => a.name);
    const perAccount = names.map(async (name) => {
      const [watermarks, orders, positions, executions, monitor] = await Promise.all([
        this.api.optional(`/accounts/${encodeURIComponent(name)}/watermarks`),
        this.api.get(`/accounts/${encodeURIComponent(name)}/orders`),
        this.api.get(`/accounts/${encodeURIComponent(name)}/positions`),
        this.api.get(`/accounts/${encodeURIComponent(name)}/executions`),
        this.api.optional(`/accounts/${encodeURIComponent(name)}/monitor`),
      ]);
      return { name, watermarks, orders, positions, executions, monitor };
    });
    const [loaded, alerts, kill] = await Promise.all([
      Promise.all(perAccount),
      this.api.optional("/alerts", { alerts: [] }),
      this.api.optional("/killswitch"),
    ]);
    const state = this.state;
    for (const a of accounts) state.setAccount(a);
    for (const { name, watermarks, orders, positions, executions, monitor } of loaded) {
      const row = accounts.find((a) => a.name === name);
      state.setAccount(row, watermarks && watermarks.data ? watermarks.data.stats : null);
      for (const o of orders.orders || []) state.setOrder(o);
      for (const p of positions.positions || []) state.setPosition(p);
      for (const f of executions.executions || []) state.fills.push(f);
      state.monitors.set(name, monitor && monitor.state ? { state: monitor.state, locked: monitor.locked } : null);
    }
    state.fills.sort((a, b) => (b.epoch || 0) - (a.epoch || 0));
    state.alerts = (alerts && alerts.alerts) || [];
    state.kill = kill && typeof kill.enabled === "boolean" ? kill : null;
    this.ticket.setAccounts(names);
    await this.loadLog(names);
    this.render();
  }

  async loadLog(names) {
    const answers = await Promise.all(names.map((n) => this.api.optional(`/accounts/${encodeURIComponent(n)}/monitor/log`)));
    this.logAvailable = answers.some((a) => a !== null);
    const entries = [];
    answers.forEach((answer, i) => {
      const list = Array.isArray(answer) ? answer : Object.values(answer || {}).find(Array.isArray) || [];
      for (const entry of list) entries.push({ account: names[i], ...entry });
    });
    const at = (e) => Date.parse(e.time ?? e.at ?? e.timestamp ?? 0) || 0;
    this.state.log = entries.sort((a, b) => at(b) - at(a));
  }

  renderAll() {
    const s = this.state;
    views.renderAccounts(s, this.accountActions);
    views.renderOrders(s, this.orderActions);
    views.renderPositions(s, this.positionActions);
    views.renderFills(s);
    views.renderQuotes(s, this.quoteActions);
    views.renderAlerts(s);
    views.renderLog(s, this.logAvailable);
    const instruments = s.instruments();
    $("instruments").replaceChildren(...instruments.map((n) => el("option", { value: n })));
    const picker = $("cancel-instrument");
    const chosen = picker.value;
    const working = [...new Set(s.workingOrders().map((o) => o.instrument))].sort();
    picker.replaceChildren(...working.map((n) => el("option", { value: n }, n)));
    if (working.includes(chosen)) picker.value = chosen;
    $("cancel-by-instrument").disabled = working.length === 0;
    this.chart.setInstruments(s.known());
    this.ticket.refreshLock();
  }

  // -- the stream ---------------------------------------------------------------------------

  onOpen() {
    this.stream.send({ action: "streamPnl", enabled: true, interval: 1000 });
    this.subscribed = new Set();
    this.queue = Promise.resolve();
    this.subscribe(...this.state.instruments());
  }

  /**
   * Subscribe to quotes of ``names`` not subscribed yet, one request at a time (each
   * replaces the connection's quote stream). When the server knows not all of them, each is
   * tried alone; a name it does not know leaves the board.
   */
  subscribe(...names) {
    const fresh = names.filter((n) => n && !this.subscribed.has(n));
    if (!fresh.length) return;
    for (const n of fresh) this.subscribed.add(n);
    const send = (list) => this.stream.request({ action: "subscribe", instruments: list });
    this.queue = this.queue.then(async () => {
      try {
        await send(fresh);
        return;
      } catch (error) {
        if (!(error instanceof ApiError) || fresh.length === 1) return this.forget(fresh, error);
      }
      for (const name of fresh) {
        try {
          await send([name]);
        } catch (error) {
          this.forget([name], error);
        }
      }
    });
  }

  forget(names, error) {
    if (!(error instanceof ApiError)) return;
    const unknown = new Set(names);
    this.state.watchlist = this.state.watchlist.filter((n) => !unknown.has(n));
    this.render();
  }

  onFrame(frame) {
    const s = this.state;
    switch (frame.type) {
      case "marketData":
        for (const q of frame.quotes || []) {
          this.adopt(q.instrument);
          s.setQuote(q);
          this.chart.onQuote(q);
        }
        if (this.chart.instrument === null) this.render();
        this.renderQuotes();
        return;
      case "pnlUpdate":
        for (const entry of frame.accounts || []) s.applyPnl(entry);
        this.renderQuotes();
        return;
      case "orderUpdate":
        if (s.applyOrderUpdate(frame)) this.fetchOrder(frame.account, frame.orderId);
        this.subscribe(frame.instrument);
        break;
      case "executionUpdate":
        s.addFill(frame);
        this.sendBracket(frame);
        break;
      case "positionUpdate":
        s.setPosition(frame);
        break;
      case "alertUpdate":
        s.addAlert(frame.alert);
        break;
      case "monitorUpdate":
        this.onMonitor(frame);
        break;
      case "lagged":
        this.resync();
        return;
      default:
        return;
    }
    this.render();
  }

  /** A quote under an alias (ES → ES 12-26): the board shows the server's name. */
  adopt(instrument) {
    const list = this.state.watchlist;
    if (list.includes(instrument)) return;
    const alias = list.findIndex((n) => !this.state.quotes.has(n) && instrument.toUpperCase().startsWith(n.toUpperCase()));
    if (alias >= 0) list[alias] = instrument;
  }

  /** A monitorUpdate: a management log entry, with the monitor's state after it. */
  onMonitor(frame) {
    if (frame.account && frame.state) this.state.monitors.set(frame.account, { state: frame.state, locked: frame.locked });
    this.state.log.unshift(frame);
    this.logAvailable = true;
    // A kill switch turned on or off is logged too: read the switches again.
    this.api.optional("/killswitch").then((kill) => {
      if (kill && typeof kill.enabled === "boolean") this.state.kill = kill;
      this.render();
    });
  }

  async fetchOrder(account, orderId) {
    try {
      const order = await this.stream.rpc("GetOrder", { account, orderId });
      this.state.setOrder(order.order || order);
    } catch {
      return;
    }
    this.render();
  }

  async resync() {
    const accounts = await this.api.get("/accounts");
    this.state.orders.clear();
    this.state.ended.clear();
    this.state.positions.clear();
    this.state.fills = [];
    await this.load(accounts.accounts || []);
  }

  // -- actions ------------------------------------------------------------------------------

  bindToolbar() {
    $("cancel-all").addEventListener("click", () => this.bulkCancel(null));
    $("cancel-by-instrument").addEventListener("click", () => this.bulkCancel($("cancel-instrument").value));
    $("q-add").addEventListener("submit", (event) => {
      event.preventDefault();
      const name = $("q-symbol").value.trim();
      if (!name || this.state.watchlist.includes(name)) return;
      this.state.watchlist.push(name);
      localStorage.setItem(WATCHLIST_KEY, JSON.stringify(this.state.watchlist));
      $("q-symbol").value = "";
      this.subscribe(name);
      this.render();
    });
  }

  async place(args) {
    const { account, ...body } = args;
    try {
      const answer = await this.api.post(`/accounts/${encodeURIComponent(account)}/orders/place`, body);
      return answer.orderId;
    } catch (error) {
      throw new Error(errorText(error));
    }
  }

  /** The bracket armed on an entry, once the entry is filled: a TP limit and an SL stop, OCO. */
  async sendBracket(fill) {
    const armed = this.brackets.get(fill.orderId);
    if (!armed) return;
    const order = this.state.orders.get(fill.orderId);
    if (order && Number(order.filled) < Number(order.quantity)) return;
    this.brackets.delete(fill.orderId);
    const { args, bracket } = armed;
    const exit = args.action === "Buy" ? "Sell" : "Buy";
    const common = { instrument: args.instrument, action: exit, quantity: args.quantity, timeInForce: "Gtc", ocoId: `bracket-${fill.orderId}` };
    const legs = [];
    if (bracket.takeProfit !== null) legs.push({ ...common, orderType: "Limit", limitPrice: bracket.takeProfit });
    if (bracket.stopLoss !== null) legs.push({ ...common, orderType: "StopMarket", stopPrice: bracket.stopLoss });
    for (const leg of legs) {
      try {
        await this.place({ account: args.account, ...leg });
      } catch (error) {
        views.showMessage("Bracket", `A bracket leg was refused: ${error.message}`, true);
      }
    }
  }

  async cancelOne(order) {
    try {
      await this.api.post(`/accounts/${encodeURIComponent(order.account)}/orders/${encodeURIComponent(order.orderId)}/cancel`);
    } catch (error) {
      views.showMessage(`Cancel ${order.orderId}`, errorText(error), true);
    }
  }

  /** Cancel the ticket account's working orders (of one instrument): the answer as a report. */
  async bulkCancel(instrument) {
    const account = this.ticket.account();
    const title = instrument ? `Cancel ${instrument} in ${account}` : `Cancel all of ${account}`;
    try {
      const answer = await this.api.post(`/accounts/${encodeURIComponent(account)}/orders/cancel`, instrument ? { instrument } : {});
      views.showReport(title, answer);
    } catch (error) {
      if (error instanceof ApiError && error.body && error.body.notCancelled) views.showReport(title, error.body, true);
      else views.showMessage(title, errorText(error), true);
    }
  }

  async positionOp(label, path, p) {
    const title = `${label} ${p.instrument} in ${p.account}`;
    try {
      const answer = await this.api.post(`/accounts/${encodeURIComponent(p.account)}/positions/${path}`, { instrument: p.instrument });
      if (answer && answer.notCancelled) views.showReport(title, answer);
      else views.showMessage(title, "Sent.", false);
    } catch (error) {
      if (error instanceof ApiError && error.body && error.body.notCancelled) views.showReport(title, error.body, true);
      else views.showMessage(title, errorText(error), true);
    }
  }

  async lifecycle(order) {
    try {
      const answer = await this.api.get(`/accounts/${encodeURIComponent(order.account)}/orders/${encodeURIComponent(order.orderId)}/lifecycle`);
      views.showLifecycle(order, answer);
    } catch (error) {
      views.showMessage(`Lifecycle of ${order.orderId}`, errorText(error), true);
    }
  }

  async setKill(account, on) {
    try {
      await this.api.put("/killswitch", { enabled: on, account });
      const kill = await this.api.optional("/killswitch");
      if (kill && typeof kill.enabled === "boolean") this.state.kill = kill;
      this.render();
    } catch (error) {
      views.showMessage("Kill switch", errorText(error), true);
    }
  }
}
