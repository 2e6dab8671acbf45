// The order ticket: market, limit, stop and stop-limit orders, with an optional bracket
// (a take-profit limit and a stop-loss stop, one OCO group) sent once the entry fills.

import { el } from "./util.js";

const $ = (id) => document.getElementById(id);

const NEEDS = {
  Market: [],
  Limit: ["limit"],
  StopMarket: ["stop"],
  StopLimit: ["limit", "stop"],
};

export class Ticket {
  /** ``place(args)`` sends an order and answers its id; ``lockOf(account)`` says why not. */
  constructor({ place, lockOf, onBracketArmed }) {
    this.place = place;
    this.lockOf = lockOf;
    this.onBracketArmed = onBracketArmed;
    this.form = $("ticket");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    $("t-type").addEventListener("change", () => this.showFields());
    $("t-bracket").addEventListener("change", () => this.showFields());
    $("t-account").addEventListener("change", () => this.refreshLock());
    this.showFields();
  }

  setAccounts(names) {
    const select = $("t-account");
    const current = select.value;
    select.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
    if (names.includes(current)) select.value = current;
    this.refreshLock();
  }

  account() {
    return $("t-account").value;
  }

  /** Put an instrument in the ticket (a click on the quote board). */
  setInstrument(name) {
    $("t-instrument").value = name;
  }

  showFields() {
    const needs = NEEDS[$("t-type").value] || [];
    for (const label of this.form.querySelectorAll("label[data-for]")) {
      const field = label.dataset.for;
      label.hidden = field === "bracket" ? !$("t-bracket").checked : !needs.includes(field);
      label.querySelector("input").required = !label.hidden;
    }
  }

  /** Enable or disable the submit button with the reason the account is locked. */
  refreshLock() {
    const reason = this.lockOf(this.account());
    const lock = $("t-lock");
    lock.hidden = reason === null;
    lock.textContent = reason || "";
    $("t-submit").disabled = reason !== null;
  }

  args() {
    const data = new FormData(this.form);
    const type = data.get("orderType");
    const args = {
      account: data.get("account"),
      instrument: String(data.get("instrument")).trim(),
      action: data.get("action"),
      quantity: Number(data.get("quantity")),
      orderType: type,
      timeInForce: data.get("timeInForce"),
    };
    if (NEEDS[type].includes("limit")) args.limitPrice = Number(data.get("limitPrice"));
    if (NEEDS[type].includes("stop")) args.stopPrice = Number(data.get("stopPrice"));
    return args;
  }

  bracket() {
    if (!$("t-bracket").checked) return null;
    const tp = $("t-tp").value;
    const sl = $("t-sl").value;
    return { takeProfit: tp ? Number(tp) : null, stopLoss: sl ? Number(sl) : null };
  }

  async submit() {
    const result = $("t-result");
    if (this.lockOf(this.account()) !== null) return;
    const args = this.args();
    const bracket = this.bracket();
    if (bracket && bracket.takeProfit === null && bracket.stopLoss === null) {
      this.say("A bracket needs a take profit, a stop loss or both.", true);
      return;
    }
    $("t-submit").disabled = true;
    result.textContent = "Sending…";
    try {
      const orderId = await this.place(args);
      let text = `Placed ${args.action} ${args.quantity} ${args.instrument}: ${orderId}`;
      if (bracket) {
        this.onBracketArmed(orderId, args, bracket);
        text += " — the bracket goes out when it fills (sent by this page)";
      }
      this.say(text, false);
    } catch (error) {
      this.say(`Refused: ${error.message}`, true);
    } finally {
      this.refreshLock();
    }
  }

  say(text, bad) {
    const result = $("t-result");
    result.textContent = text;
    result.classList.toggle("bad", bad);
  }
}
