// Sign-in and start: a CrossTrade token (typed, or from the URL fragment #token=...) or a
// ScaleTrade login and password. The credentials live in this tab's sessionStorage only.

import { ApiError } from "./api.js";
import { Blotter } from "./blotter.js";
import { ScaleTradeBlotter, signIn } from "./scaletrade.js";

const $ = (id) => document.getElementById(id);
const KEY = "ordergate.session";

function setConnection(state) {
  const conn = $("conn");
  conn.dataset.state = state;
  conn.textContent = { live: "live", connecting: "connecting…", off: "offline" }[state] || state;
}

function showSignIn(message = "") {
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("who").textContent = "";
}

function signOut(message = "") {
  sessionStorage.removeItem(KEY);
  if (message) sessionStorage.setItem(`${KEY}.message`, message);
  window.location.replace(window.location.pathname);
}

/** The token of a ``#token=...`` fragment, removed from the address bar once read. */
function tokenFromFragment() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (token) history.replaceState(null, "", window.location.pathname + window.location.search);
  return token;
}

async function open(session) {
  const hooks = { onState: setConnection, onUnauthorized: () => signOut("The session was refused: sign in again.") };
  const blotter = session.kind === "crosstrade" ? new Blotter(session.token, hooks) : new ScaleTradeBlotter(session.profile, hooks);
  $("signin").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  try {
    await blotter.start();
  } catch (error) {
    blotter.stop();
    const refused = error instanceof ApiError && (error.status === 401 || error.status === 403);
    sessionStorage.removeItem(KEY);
    showSignIn(refused ? "That token or login was refused." : `Could not load the blotter: ${error.message}`);
    return;
  }
  sessionStorage.setItem(KEY, JSON.stringify(session));
  $("who").textContent = session.kind === "crosstrade" ? "CrossTrade token" : `ScaleTrade ${session.profile.login}`;
  window.blotter = blotter; // for the console
}

function boot() {
  $("sign-out").addEventListener("click", () => signOut());
  $("signin-ct").addEventListener("submit", (event) => {
    event.preventDefault();
    open({ kind: "crosstrade", token: $("signin-token").value.trim() });
  });
  $("signin-st").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const profile = await signIn($("signin-login").value.trim(), $("signin-password").value);
      open({ kind: "scaletrade", profile });
    } catch (error) {
      showSignIn(error instanceof ApiError ? `Sign-in refused: ${error.body?.message || error.message}` : error.message);
    }
  });
  const token = tokenFromFragment();
  const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
  const message = sessionStorage.getItem(`${KEY}.message`) || "";
  sessionStorage.removeItem(`${KEY}.message`);
  if (token) open({ kind: "crosstrade", token });
  else if (saved) open(saved);
  else showSignIn(message);
}

boot();
