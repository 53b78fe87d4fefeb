// Overview: controllers, clouds, outbox, scripts, uptime and version, refreshed every 2 s.

import { api } from "../api.js";
import { formatDuration, formatTime, h, notice } from "../ui.js";

export async function render(container) {
  const body = h("div");
  container.append(h("h1", {}, "Overview"), body);
  async function refresh() {
    try { body.replaceChildren(...view(await api("GET", "/status"))); } catch (error) {
      body.replaceChildren(notice("error", error.message));
    }
  }
  await refresh();
  const timer = setInterval(refresh, 2000);
  return () => clearInterval(timer);
}

const SERVICE_TITLES = { modbus_server: "Modbus TCP slave" };

function view(status) {
  const health = (c) => c.healthy === null ? h("span", { class: "muted" }, "starting")
    : c.healthy ? h("span", { class: "ok" }, "reading") : h("span", { class: "bad" }, c.degraded ? "failing (degraded)" : "failing");
  return [
    h("div", { class: "cards" },
      h("div", { class: "card" }, h("h3", {}, status.name), h("div", {}, `version ${status.version}`),
        h("div", {}, `up ${formatDuration(status.uptime)}`),
        h("div", {}, status.running ? h("span", { class: "ok" }, "running") : h("span", { class: "warn" }, "restarting"))),
      h("div", { class: "card", "data-card": "outbox" }, h("h3", {}, "Outbox"),
        status.outbox ? [h("div", {}, `${status.outbox.depth} message(s) waiting`),
          h("div", { class: status.outbox.evicted ? "bad" : "muted" }, `${status.outbox.evicted} evicted since start`)] : "—")),
    h("h2", {}, "Controllers"),
    status.controllers.length ? h("table", { "data-table": "controllers" },
      h("tr", {}, ["Controller", "Protocol", "Endpoint", "Measures", "State", "Last good read", "Last error"].map((t) => h("th", {}, t))),
      status.controllers.map((c) => h("tr", { dataset: { controller: c.name } }, h("td", {}, c.name), h("td", {}, c.protocol),
        h("td", {}, c.endpoint), h("td", { class: "num" }, c.measures), h("td", {}, health(c)),
        h("td", {}, formatTime(c.last_success)), h("td", { class: "bad" }, c.last_error || ""))))
      : h("p", { class: "muted" }, "No controllers are polled. Add one on the Controllers page."),
    h("h2", {}, "Clouds"),
    status.clouds.length ? h("table", { "data-table": "clouds" },
      h("tr", {}, ["Cloud", "Type", "Host", "State", "Delivered", "Last failure"].map((t) => h("th", {}, t))),
      status.clouds.map((c) => h("tr", {}, h("td", {}, c.name), h("td", {}, c.type), h("td", {}, c.host),
        h("td", {}, c.connected ? h("span", { class: "ok" }, "connected") : h("span", { class: "bad" }, "not connected")),
        h("td", { class: "num" }, c.delivered), h("td", { class: "bad" }, c.last_failure || ""))))
      : h("p", { class: "muted" }, "No clouds configured."),
    status.services.length ? [h("h2", {}, "Data services"), h("table", { "data-table": "services" },
      h("tr", {}, ["Service", "State", "Clients", "Requests", "Writes", "Exceptions", "Last error"].map((t) => h("th", {}, t))),
      status.services.map((s) => h("tr", { dataset: { service: s.name } }, h("td", {}, SERVICE_TITLES[s.name] || s.name),
        h("td", {}, h("span", { class: s.state.startsWith("listening") ? "ok" : "bad" }, s.state)),
        h("td", { class: "num" }, s.clients), h("td", { class: "num" }, s.requests), h("td", { class: "num" }, s.writes),
        h("td", { class: "num" }, s.exceptions), h("td", { class: "bad" }, s.last_error || ""))))] : [],
    h("h2", {}, "Scripts"),
    status.scripts.length ? h("table", { "data-table": "scripts" },
      h("tr", {}, [h("th", {}, "Script"), h("th", {}, "State")]),
      status.scripts.map((s) => h("tr", {}, h("td", {}, s.name),
        h("td", {}, scriptState(s)))))
      : h("p", { class: "muted" }, "No scripts."),
    Object.keys(status.failed_parts || {}).length ? [h("h2", {}, "Restarted parts"),
      h("table", { "data-table": "parts" }, h("tr", {}, [h("th", {}, "Part"), h("th", {}, "Last fault")]),
        Object.entries(status.failed_parts).map(([part, fault]) => h("tr", {}, h("td", {}, part),
          h("td", { class: "bad" }, fault))))] : [],
  ].flat();
}

// A paused script says why and when it runs again; a subscribe script counts the messages that failed it.
function scriptState(s) {
  const bad = s.bad_messages ? h("span", { class: "warn" }, ` (${s.bad_messages} message(s) failed it)`) : "";
  if (!s.faulted) return [h("span", { class: "ok" }, "ok"), bad];
  const resumes = s.resumes_at ? `; runs again at ${formatTime(s.resumes_at)}` : "";
  return [h("span", { class: "bad" }, `paused: ${s.faulted}${resumes}`), bad];
}
