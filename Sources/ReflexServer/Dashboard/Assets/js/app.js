// The dashboard's shell: sign-in, navigation (hash routes), the live-feed indicator, and mounting
// one screen at a time. Each screen module exports mount(element, params) -> unmount().

import { session, signIn, signOut, setUnauthorizedHandler, APIError } from "./api.js";
import * as live from "./live.js";
import { esc } from "./util.js";
import * as fleet from "./fleet.js";
import * as device from "./device.js";
import * as alarms from "./alarms.js";
import * as decisions from "./decisions.js";
import * as takeover from "./takeover.js";

const screens = { fleet, device, alarms, decisions, takeover };
const main = document.getElementById("main");
const loginView = document.getElementById("login");
const shell = document.getElementById("shell");
let unmount = null;

function parseRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [pathPart, queryPart = ""] = hash.split("?");
  const parts = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(queryPart));
  const name = screens[parts[0]] ? parts[0] : "fleet";
  return { name, id: parts[1], params };
}

function route() {
  if (!session.role) return;
  const { name, id, params } = parseRoute();
  if (unmount) unmount();
  unmount = null;
  for (const link of document.querySelectorAll("nav a[data-screen]")) {
    link.classList.toggle("active", link.dataset.screen === (name === "device" ? "fleet" : name));
  }
  // Each screen gets its own element: late answers of a screen that was left land in a detached
  // element instead of the next screen.
  main.innerHTML = "";
  main.dataset.screen = name;
  const page = document.createElement("div");
  page.className = `screen screen-${name}`;
  main.appendChild(page);
  try {
    unmount = screens[name].mount(page, { id, ...params });
  } catch (err) {
    page.innerHTML = `<div class="empty error"><strong>This screen failed</strong><p>${esc(err.message)}</p></div>`;
  }
  window.scrollTo(0, 0);
}

function showLogin(message) {
  if (unmount) unmount();
  unmount = null;
  live.disconnect();
  shell.hidden = true;
  loginView.hidden = false;
  const error = loginView.querySelector(".error-text");
  error.textContent = message || "";
  loginView.querySelector("input").focus();
}

function showShell() {
  loginView.hidden = true;
  shell.hidden = false;
  document.getElementById("who").textContent = `${session.name} · ${session.role}`;
  document.body.dataset.role = session.role;
  live.connect();
  route();
}

loginView.querySelector("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = loginView.querySelector("input");
  const button = loginView.querySelector("button");
  button.disabled = true;
  try {
    await signIn(input.value.trim());
    input.value = "";
    showShell();
  } catch (err) {
    const message = err instanceof APIError && err.status === 401
      ? "This token is not valid (unknown or revoked)."
      : err.message;
    loginView.querySelector(".error-text").textContent = message;
  } finally {
    button.disabled = false;
  }
});

document.getElementById("signout").addEventListener("click", () => {
  signOut();
  showLogin("");
});

setUnauthorizedHandler(() => {
  signOut();
  showLogin("Your session ended: the token was revoked or is no longer valid.");
});

live.onState((state) => {
  const el = document.getElementById("live");
  el.dataset.state = state;
  el.textContent = { live: "live", connecting: "connecting…", error: "reconnecting…", unavailable: "no live feed", off: "offline" }[state] || state;
});

window.addEventListener("hashchange", route);

(async () => {
  if (session.token) {
    try {
      await signIn(session.token);
      showShell();
      return;
    } catch {
      // fall through to the login form
    }
  }
  showLogin("");
})();
