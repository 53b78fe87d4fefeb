// Overview: the gateway (uptime, version, active alarms, errors, outbox), the machine (CPU, memory,
// disk, clock, addresses), controllers, clouds, services and scripts, refreshed every 2 s.

import { api } from "../api.js";
import { formatDuration, formatTime, gatewayZone, h, notice, setGatewayClock, timeCell } from "../ui.js";

export async function render(container) {
  const body = h("div");
  container.append(h("h1", {}, "Overview"), body);
  async function refresh() {
    try {
      const status = await api("GET", "/status");
      setGatewayClock(status.machine);
      body.replaceChildren(...view(status));
    } catch (error) {
      body.replaceChildren(notice("error", error.message));
    }
  }
  await refresh();
  const timer = setInterval(refresh, 2000);
  return () => clearInterval(timer);
}

const SERVICE_TITLES = { modbus_server: "Modbus TCP slave" };

const MiB = 1024 * 1024, GiB = 1024 * MiB;
const size = (bytes) => bytes === null || bytes === undefined ? "—" : bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / MiB)} MiB`;
const figure = (label, value, cls = "") => [h("span", { class: "muted" }, label), h("span", { class: cls }, value)];

function view(status) {
  const health = (c) => c.healthy === null ? h("span", { class: "muted" }, "starting")
    : c.healthy ? h("span", { class: "ok" }, "reading") : h("span", { class: "bad" }, c.degraded ? "failing (degraded)" : "failing");
  const m = status.machine || {};
  const readErrors = status.controllers.reduce((n, c) => n + (c.failed_cycles || 0), 0);
  const cloudFailures = status.clouds.reduce((n, c) => n + (c.connection_failures || 0), 0);
  const scriptFaults = status.scripts.filter((s) => s.faulted).length;
  const scriptErrors = status.scripts.reduce((n, s) => n + (s.failed_calls || 0), 0);
  return [
    h("div", { class: "cards" },
      h("div", { class: "card", "data-card": "gateway" }, h("h3", {}, status.name), h("div", { class: "figures" },
        figure("State", status.running ? "running" : "restarting", status.running ? "ok" : "warn"),
        figure("Version", status.version), figure("Up", formatDuration(status.uptime)),
        figure("Active alarms", status.alarms_active, status.alarms_active ? "bad" : "ok"),
        figure("Failed read cycles", readErrors, readErrors ? "warn" : ""),
        figure("Cloud connection failures", cloudFailures, cloudFailures ? "warn" : ""),
        figure("Script faults", `${scriptFaults} paused, ${scriptErrors} failed call(s)`, scriptFaults ? "bad" : ""))),
      h("div", { class: "card", "data-card": "outbox" }, h("h3", {}, "Outbox"),
        status.outbox ? [h("div", {}, `${status.outbox.depth} message(s) waiting`),
          h("div", { class: status.outbox.evicted ? "bad" : "muted" }, `${status.outbox.evicted} evicted since start`)] : "—"),
      h("div", { class: "card", "data-card": "machine" }, h("h3", {}, "Machine"), h("div", { class: "figures" },
        figure("CPU", m.cpu_percent === null || m.cpu_percent === undefined ? "—" : `${m.cpu_percent} %`
          + (m.load ? ` (load ${m.load.map((l) => l.toFixed(2)).join(" ")})` : "")),
        figure("Memory", m.memory_total ? `${size(m.memory_total - m.memory_available)} used of ${size(m.memory_total)}; gateway ${size(m.gateway_memory)}` : "—"),
        figure("Disk (data)", m.disk_total ? `${size(m.disk_free)} free of ${size(m.disk_total)}` : "—",
          m.disk_total && m.disk_free / m.disk_total < 0.1 ? "bad" : ""),
        figure("Clock", [`${formatTime(m.time)} ${gatewayZone()}; `, m.clock_synchronized === null ? "sync unknown"
          : m.clock_synchronized ? h("span", { class: "ok" }, "synchronized") : h("span", { class: "warn" }, "not synchronized")]),
        figure("Machine up", m.machine_uptime ? formatDuration(m.machine_uptime) : "—"),
        figure("Addresses", Object.entries(m.addresses || {}).map(([name, address]) => `${name} ${address}`).join(", ") || "—")))),
    h("h2", {}, "Controllers"),
    status.controllers.length ? h("table", { "data-table": "controllers" },
      h("tr", {}, ["Controller", "Protocol", "Endpoint", "Measures", "State", "Last good read", "Failed cycles", "Last error"].map((t) => h("th", {}, t))),
      status.controllers.map((c) => h("tr", { dataset: { controller: c.name } }, h("td", {}, c.name), h("td", {}, c.protocol),
        h("td", {}, c.endpoint), h("td", { class: "num" }, c.measures), h("td", {}, health(c)),
        timeCell(c.last_success), h("td", { class: "num" }, `${c.failed_cycles} of ${c.cycles}`),
        h("td", { class: "bad" }, c.last_error || ""))))
      : h("p", { class: "muted" }, "No controllers are polled. Add one on the Controllers page."),
    h("h2", {}, "Clouds"),
    status.clouds.length ? h("table", { "data-table": "clouds" },
      h("tr", {}, ["Cloud", "Type", "Host", "State", "Delivered", "Connection failures", "Last failure"].map((t) => h("th", {}, t))),
      status.clouds.map((c) => h("tr", {}, h("td", {}, c.name), h("td", {}, c.type), h("td", {}, c.host),
        h("td", {}, c.connected ? h("span", { class: "ok" }, "connected") : h("span", { class: "bad" }, "not connected")),
        h("td", { class: "num" }, c.delivered, c.dropped ? h("span", { class: "bad" }, ` (${c.dropped} dropped)`) : ""),
        h("td", { class: "num" }, c.connection_failures),
        h("td", { class: "bad" }, c.last_failure || "", (c.waiting || []).map((w) => h("div", { class: "warn" }, `waits: ${w}`))))))
      : h("p", { class: "muted" }, "No clouds configured."),
    status.services.length ? [h("h2", {}, "Data services"), h("table", { "data-table": "services" },
      h("tr", {}, ["Service", "State", "Clients", "Requests", "Writes", "Exceptions", "Last error"].map((t) => h("th", {}, t))),
      status.services.map((s) => h("tr", { dataset: { service: s.name } }, h("td", {}, SERVICE_TITLES[s.name] || s.name),
        h("td", {}, h("span", { class: s.state.startsWith("listening") ? "ok" : "bad" }, s.state)),
        h("td", { class: "num" }, s.clients), h("td", { class: "num" }, s.requests), h("td", { class: "num" }, s.writes),
        h("td", { class: "num" }, s.exceptions), h("td", { class: "bad" }, s.last_error || ""))))] : [],
    h("h2", {}, "Scripts"),
    status.scripts.length ? h("table", { "data-table": "scripts" },
      h("tr", {}, [h("th", {}, "Script"), h("th", {}, "Calls"), h("th", {}, "Failed"), h("th", {}, "State")]),
      status.scripts.map((s) => h("tr", {}, h("td", {}, s.name), h("td", { class: "num" }, s.calls),
        h("td", { class: "num" }, s.failed_calls), h("td", {}, scriptState(s)))))
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
