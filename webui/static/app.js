// The admin UI: first setup or login, then one page per hash route.

import { api, setCsrf } from "./api.js";
import { closeLive } from "./live.js";
import { formatTime, gatewayZone, h, notice, setGatewayClock } from "./ui.js";

const pages = {
  overview: () => import("./pages/overview.js"),
  measures: () => import("./pages/measures.js"),
  controllers: () => import("./pages/sections.js").then((m) => m.page("controllers")),
  groups: () => import("./pages/sections.js").then((m) => m.page("groups")),
  alarms: () => import("./pages/alarms.js"),
  clouds: () => import("./pages/sections.js").then((m) => m.page("clouds")),
  rules: () => import("./pages/sections.js").then((m) => m.page("rules")),
  scripts: () => import("./pages/scripts.js"),
  services: () => import("./pages/services.js"),
  history: () => import("./pages/history.js"),
  logs: () => import("./pages/logs.js"),
  audit: () => import("./pages/audit.js"),
  settings: () => import("./pages/settings.js"),
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let cleanup = null;
let routing = false;
let header = null;

// The header's active-alarm count and the gateway's clock, which every page's times follow
async function refreshHeader() {
  try {
    const status = await api("GET", "/status");
    setGatewayClock(status.machine);
    const badge = document.getElementById("alarm-count");
    badge.hidden = !status.alarms_active;
    badge.textContent = `${status.alarms_active} alarm${status.alarms_active === 1 ? "" : "s"}`;
    document.getElementById("clock").textContent = `${formatTime(status.machine.time).slice(0, 16)} ${gatewayZone()}`;
  } catch { /* logged out or restarting: the page says so */ }
}

async function start() {
  let state;
  try { state = await api("GET", "/auth/state"); } catch (error) {
    main.replaceChildren(notice("error", `The gateway does not answer: ${error.message}`));
    return;
  }
  if (!state.password_set) return showSetup();
  if (!state.logged_in) return showLogin();
  setCsrf(state.csrf);
  nav.hidden = false;
  await refreshHeader();
  if (!header) header = setInterval(refreshHeader, 5000);
  if (!routing) { window.addEventListener("hashchange", route); routing = true; }
  route();
}

function showSetup() {
  nav.hidden = true;
  const message = h("div");
  const code = h("input", { name: "code", autocomplete: "off", placeholder: "e.g. 1A2B3C-4D5E6F-7A8B9C" });
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password" });
  const repeat = h("input", { name: "repeat", type: "password", autocomplete: "new-password" });
  const form = h("form", { class: "login" },
    h("h1", {}, "Set the administrator password"),
    h("p", { class: "muted" }, "The one-time setup code was printed when the gateway first started; it is also in the " +
      "file setup-code in the gateway's data folder."),
    h("label", {}, "Setup code", code), h("label", {}, "New password (at least 8 characters)", password),
    h("label", {}, "Repeat the password", repeat), h("button", { class: "primary", type: "submit" }, "Set password"),
    message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (password.value !== repeat.value) { message.replaceChildren(notice("error", "The two passwords differ.")); return; }
    try {
      await api("POST", "/auth/setup", { code: code.value, password: password.value }, { allow401: true });
      location.hash = "#/overview";
      start();
    } catch (error) { message.replaceChildren(notice("error", error.message)); }
  });
  main.replaceChildren(form);
  code.focus();
}

function showLogin() {
  nav.hidden = true;
  if (main.querySelector("form[data-form=login]")) return;  // shown already: a late 401 must not wipe what is typed
  const message = h("div");
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password" });
  const form = h("form", { class: "login", "data-form": "login" }, h("h1", {}, "Log in"), h("label", {}, "Administrator password", password),
    h("button", { class: "primary", type: "submit" }, "Log in"), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/auth/login", { password: password.value }, { allow401: true });
      start();
    } catch (error) { message.replaceChildren(notice("error", error.message)); }
  });
  main.replaceChildren(form);
  password.focus();
}

async function route() {
  const name = (location.hash.replace(/^#\//, "").split("/")[0]) || "overview";
  const load = pages[name] || pages.overview;
  for (const link of nav.querySelectorAll("a")) link.classList.toggle("active", link.getAttribute("href") === `#/${name}`);
  if (cleanup) { cleanup(); cleanup = null; }
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  const module = await load();
  const container = h("section", { "data-page": name });
  main.replaceChildren(container);
  cleanup = (await module.render(container)) || null;
}

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("POST", "/auth/logout"); } finally {
    closeLive();
    if (cleanup) { cleanup(); cleanup = null; }  // the page's refreshes stop: they would only meet 401s
    showLogin();
  }
});
window.addEventListener("logged-out", () => { closeLive(); if (cleanup) { cleanup(); cleanup = null; } showLogin(); });

start();
