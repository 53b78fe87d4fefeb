// Audit: who wrote which PLC value (before and after), logged in or failed to, and changed the
// configuration or a script; searchable, paged back in time, downloadable as CSV.

import { api } from "../api.js";
import { h, showFailure, timeCell } from "../ui.js";

const PAGE = 200;

export async function render(container) {
  const filter = h("input", { type: "search", name: "filter", placeholder: "Search: a measure, an address, an action" });
  const download = h("a", { href: "/api/v1/audit.csv", download: "audit.csv" }, "Download CSV");
  const report = h("div");
  const table = h("table", { "data-table": "audit" });
  const more = h("button", { type: "button", hidden: true, onclick: () => load(true) }, "Older entries");
  container.append(h("h1", {}, "Audit log"),
    h("p", { class: "muted" }, "Every PLC write (who or which rule, the value before and after), login, failed login, " +
      "password, configuration and script change."),
    h("div", { class: "toolbar" }, filter, download), report, table, more);
  let shown = [];
  let timer = null;
  filter.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load(false), 250); });

  async function load(older) {
    const query = new URLSearchParams({ limit: PAGE, filter: filter.value.trim() });
    if (older && shown.length) query.set("before", shown[shown.length - 1].id);
    download.href = `/api/v1/audit.csv?${new URLSearchParams({ filter: filter.value.trim() })}`;
    let entries;
    try { entries = await api("GET", `/audit?${query}`); } catch (error) { showFailure(report, error); return; }
    report.replaceChildren();
    shown = older ? shown.concat(entries) : entries;
    more.hidden = entries.length < PAGE;
    table.replaceChildren(h("tr", {}, ["Time", "Who", "Action", "On", "Detail"].map((t) => h("th", {}, t))),
      ...(shown.length ? shown.map((e) => h("tr", { dataset: { action: e.action } }, timeCell(e.timestamp),
        h("td", {}, e.actor), h("td", { class: e.action === "login failed" ? "bad" : "" }, e.action),
        h("td", {}, e.subject), h("td", {}, e.detail)))
        : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "Nothing recorded yet."))]));
  }
  await load(false);
}
