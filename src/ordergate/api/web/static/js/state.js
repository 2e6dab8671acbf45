// What the blotter knows, kept up to date by the REST loads and the stream's pushes. Views
// read it; nothing here touches the page.

const TERMINAL = new Set(["Filled", "Cancelled", "Rejected", "Expired"]);

export class State {
  constructor() {
    this.accounts = new Map(); // name -> {name, currency, cash, equity, unrealized, margin, ...}
    this.orders = new Map(); // orderId -> the order as GET orders answers it
    this.ended = new Set(); // ids of orders seen to end: a late read never brings them back
    this.positions = new Map(); // "account|instrument" -> the position
    this.fills = []; // newest first
    this.quotes = new Map(); // instrument -> the newest quote
    this.alerts = []; // newest first
    this.log = []; // management log entries, newest first
    this.monitors = new Map(); // account -> {state, locked} of its risk monitor, null when unknown
    this.kill = null; // {enabled, accounts: {name: bool}} or null when unknown
    this.watchlist = []; // instruments of the quote board, in order
  }

  account(name) {
    return this.accounts.get(name);
  }

  /** An account from GET /accounts (or the snapshot), with its session P&L figures. */
  setAccount(row, stats = null) {
    const item = row.item || {};
    const known = this.accounts.get(row.name) || {};
    this.accounts.set(row.name, {
      ...known,
      name: row.name,
      currency: row.currency,
      cash: item.cashValue,
      equity: item.netLiquidation,
      unrealized: item.unrealizedProfitLoss,
      margin: item.initialMargin,
      // The session P&L moves with cash (realized) and unrealized from the figure read.
      sessionBase: stats ? stats.pnl : known.sessionBase,
      cashBase: item.cashValue,
      unrealizedBase: item.unrealizedProfitLoss,
    });
  }

  /** A pnlUpdate entry: cash, equity, unrealized and margin of one account. */
  applyPnl(entry) {
    const known = this.accounts.get(entry.account);
    if (!known) return;
    known.cash = entry.cashValue;
    known.equity = entry.netLiquidation;
    known.unrealized = entry.unrealizedProfitLoss;
    known.margin = entry.initialMargin;
  }

  /** The account's session P&L now: the one read at load, moved by cash and unrealized since. */
  sessionPnl(name) {
    const a = this.accounts.get(name);
    if (!a || a.sessionBase === undefined || a.sessionBase === null) return null;
    return a.sessionBase + (a.cash - a.cashBase) + (a.unrealized - a.unrealizedBase);
  }

  setOrder(order) {
    if (this.ended.has(order.orderId)) return;
    if (TERMINAL.has(order.orderState)) this.orders.delete(order.orderId);
    else this.orders.set(order.orderId, order);
  }

  /**
   * An orderUpdate: its new state. Answers whether the whole order must be read (one not
   * known yet that is still working).
   */
  applyOrderUpdate(update) {
    const known = this.orders.get(update.orderId);
    if (TERMINAL.has(update.orderState)) {
      this.orders.delete(update.orderId);
      this.ended.add(update.orderId);
      return false;
    }
    if (!known) return true;
    known.orderState = update.orderState;
    known.updated = update.time;
    return false;
  }

  workingOrders() {
    return [...this.orders.values()].sort((a, b) => (b.epoch || 0) - (a.epoch || 0));
  }

  setPosition(position) {
    const key = `${position.account}|${position.instrument}`;
    if (position.marketPosition === "Flat" || Number(position.quantity) === 0) this.positions.delete(key);
    else this.positions.set(key, { ...this.positions.get(key), ...position });
  }

  /** A fill: the fills list, and the filled quantity of its order. */
  addFill(fill) {
    if (fill.id && this.fills.some((f) => f.id === fill.id)) return;
    this.fills.unshift(fill);
    this.fills.length = Math.min(this.fills.length, 200);
    const order = this.orders.get(fill.orderId);
    if (order) order.filled = Number(order.filled || 0) + Number(fill.quantity || 0);
  }

  setQuote(quote) {
    this.quotes.set(quote.instrument, { ...this.quotes.get(quote.instrument), ...quote });
  }

  /** A position's unrealized P&L at the newest quote (long at the bid, short at the ask). */
  unrealized(position) {
    const quote = this.quotes.get(position.instrument);
    if (!quote || quote.pointValue === undefined) {
      return { market: position.marketPrice, pnl: position.unrealizedProfitLoss };
    }
    const long = position.marketPosition === "Long";
    const market = long ? quote.bid : quote.ask;
    if (market === undefined || market === null) {
      return { market: position.marketPrice, pnl: position.unrealizedProfitLoss };
    }
    const direction = long ? 1 : -1;
    const pnl = (market - position.averagePrice) * position.quantity * quote.pointValue * direction;
    return { market, pnl };
  }

  addAlert(alert) {
    const at = this.alerts.findIndex((a) => a.alertId === alert.alertId);
    if (at >= 0) this.alerts[at] = alert;
    else this.alerts.unshift(alert);
    this.alerts.length = Math.min(this.alerts.length, 200);
  }

  /** Whether the ticket may not place for ``account``, and why (null when it may). */
  lockOf(account) {
    if (this.kill && this.kill.enabled) return "The kill switch is on: no new orders.";
    if (this.kill && this.kill.accounts && this.kill.accounts[account]) {
      return `The kill switch is on for ${account}: no new orders.`;
    }
    const monitor = this.monitors.get(account);
    if (monitor && monitor.locked) return `${account} is locked by its risk monitor: ${monitor.locked}`;
    if (monitor && monitor.state === "STOPPED") return `${account}'s risk monitor has stopped it: no new orders.`;
    return null;
  }

  /** The instruments known to exist (quoted, or with orders or positions), for the chart. */
  known() {
    const names = new Set(this.quotes.keys());
    for (const o of this.orders.values()) names.add(o.instrument);
    for (const p of this.positions.values()) names.add(p.instrument);
    const board = this.watchlist.filter((n) => names.has(n));
    return [...board, ...[...names].filter((n) => !board.includes(n)).sort()];
  }

  /** Every instrument the blotter has seen, for the pickers. */
  instruments() {
    const names = new Set(this.watchlist);
    for (const o of this.orders.values()) names.add(o.instrument);
    for (const p of this.positions.values()) names.add(p.instrument);
    for (const q of this.quotes.keys()) names.add(q);
    return [...names].sort();
  }
}
