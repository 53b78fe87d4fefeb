// Measures: a paged, filtered, sorted table with live values; writes; add/edit/delete; CSV.

import { api } from "../api.js";
import { onLive } from "../live.js";
import { formatAgo, formatTime, formatValue, gatewayZone, h, itemForm, notice, showFailure } from "../ui.js";
import { FIELDS, configChoices, savedBody, withChoices } from "./fields.js";

const PAGE = 100;
const COLUMNS = [["controller", "Controller"], ["name", "Name"], ["group", "Group"], ["address", "Address"],
  ["type", "Type"], ["access", "Access"], ["value", "Value"], ["unit", "Unit"], ["status", "Status"],
  ["timestamp", "Read at"]];
const READ_AT = "The gateway's time of the read that gave this value (or that failed)";

export async function render(container) {
  const state = { offset: 0, sort: "name", order: "asc", filter: "" };
  const report = h("div", { "data-report": "measures" });
  const formSlot = h("div");
  const filter = h("input", { type: "search", name: "filter", placeholder: "Filter by name, controller, group, address" });
  const csvFile = h("input", { type: "file", name: "csv", accept: ".csv,text/csv" });
  const table = h("table", { "data-table": "measures" });
  const pager = h("div", { class: "pager" });
  const rows = new Map();
  container.append(h("h1", {}, "Measures"),
    h("div", { class: "toolbar" }, filter, h("button", { type: "button", onclick: () => edit(null) }, "Add measure"),
      h("a", { href: "/api/v1/measures/export.csv", download: "measure.csv" }, "Export measure.csv"),
      h("label", {}, "Import measure.csv", csvFile),
      h("button", { type: "button", onclick: importCsv, "data-action": "import" }, "Import"),
      h("a", { href: "/docs/configuration.md", target: "_blank", rel: "noopener" }, "Every key of a measure explained")),
    report, formSlot, table, pager);

  let timer = null;
  filter.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { state.filter = filter.value; state.offset = 0; load(); }, 250); });

  async function load() {
    const query = new URLSearchParams({ offset: state.offset, limit: PAGE, sort: state.sort, order: state.order, filter: state.filter });
    let page;
    try { page = await api("GET", `/measures?${query}`); } catch (error) { showFailure(report, error); return; }
    rows.clear();
    const header = h("tr", {}, COLUMNS.map(([key, label]) => h("th", { class: "sortable", onclick: () => sortBy(key),
      title: key === "timestamp" ? `${READ_AT}, ${gatewayZone()}` : null },
      label + (state.sort === key ? (state.order === "asc" ? " ▲" : " ▼") : ""))), h("th", {}, ""));
    table.replaceChildren(header, ...page.items.map(row));
    const last = Math.min(page.total, state.offset + PAGE);
    pager.replaceChildren(
      h("button", { type: "button", disabled: state.offset === 0, onclick: () => { state.offset -= PAGE; load(); } }, "Previous"),
      h("span", { "data-count": page.total }, page.total ? `${state.offset + 1}–${last} of ${page.total}` : "no measures"),
      h("button", { type: "button", disabled: last >= page.total, onclick: () => { state.offset += PAGE; load(); } }, "Next"));
  }

  function sortBy(key) {
    state.order = state.sort === key && state.order === "asc" ? "desc" : "asc";
    state.sort = key;
    load();
  }

  function row(m) {
    const value = h("td", { class: "num value" });
    const status = h("td");
    const time = h("td");
    const tr = h("tr", { dataset: { key: `${m.controller}/${m.name}` } },
      h("td", {}, m.controller), h("td", {}, m.name), h("td", {}, m.group), h("td", {}, m.address), h("td", {}, m.type),
      h("td", {}, m.access), value, h("td", {}, m.unit || ""), status, time,
      h("td", {}, m.access === "rw" ? h("button", { type: "button", onclick: () => write(m, tr) }, "Write") : null,
        h("button", { type: "button", onclick: () => edit(m) }, "Edit"),
        h("button", { type: "button", class: "danger", onclick: () => remove(m) }, "Delete")));
    const cells = { update(reading) {
      value.textContent = formatValue(reading.value, m.decimal);
      status.replaceChildren(reading.status ? h("span", { class: "ok" }, "good") : h("span", { class: "bad", title: reading.error || "" }, reading.error ? "failed" : "—"));
      time.replaceChildren(h("time", {}, formatTime(reading.timestamp)), " ",
        h("small", { class: "muted", "data-ago": reading.timestamp || "" }, formatAgo(reading.timestamp)));
      tr.classList.toggle("stale", !reading.status);
    } };
    cells.update(m);
    rows.set(`${m.controller}/${m.name}`, cells);
    return tr;
  }

  function write(m, tr) {
    const input = h("input", { name: "write-value", placeholder: "value", size: 8 });
    const result = h("span");
    const form = h("form", { class: "toolbar" }, `Write ${m.controller}/${m.name}:`, input,
      h("button", { class: "primary", type: "submit" }, "Write"), result);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      const value = text === "true" ? true : text === "false" ? false : (text !== "" && !isNaN(Number(text)) ? Number(text) : text);
      try {
        await api("POST", `/measures/${encodeURIComponent(m.controller)}/${encodeURIComponent(m.name)}/write`, { value });
        result.replaceChildren(h("span", { class: "ok" }, "written"));
      } catch (error) { result.replaceChildren(h("span", { class: "bad" }, error.message)); }
    });
    formSlot.replaceChildren(form);
    input.focus();
  }

  async function edit(m) {
    const original = m;
    let full = m || {}, saved = {};
    const [choices, all] = await Promise.all([configChoices(), m ? api("GET", "/config/measures") : []]);
    if (m) {  // the table row lacks some fields: the saved measure has them all
      saved = all.find((x) => x.controller === m.controller && x.name === m.name) || {};
      full = { ...m, ...saved };
    }
    const form = itemForm(withChoices(FIELDS.measures, choices), full, {
      submitLabel: m ? "Save measure" : "Add measure",
      onCancel: () => formSlot.replaceChildren(),
      onSubmit: async (item) => {
        const body = savedBody(saved, FIELDS.measures, item);
        if (original) await api("PUT", `/config/measures/${encodeURIComponent(original.controller)}/${encodeURIComponent(original.name)}`, body);
        else await api("POST", "/config/measures", body);
        formSlot.replaceChildren(notice("ok", `Saved ${body.controller}/${body.name}; the gateway restarted with it.`));
        load();
      },
    });
    formSlot.replaceChildren(h("h2", {}, m ? `Edit ${m.controller}/${m.name}` : "Add a measure"), form.element);
  }

  async function remove(m) {
    if (!confirm(`Delete ${m.controller}/${m.name}?`)) return;
    try { await api("DELETE", `/config/measures/${encodeURIComponent(m.controller)}/${encodeURIComponent(m.name)}`); load(); }
    catch (error) { showFailure(report, error); }
  }

  async function importCsv() {
    const file = csvFile.files[0];
    if (!file) { report.replaceChildren(notice("error", "Choose a measure.csv file first.")); return; }
    try {
      const result = await api("POST", "/measures/import", undefined, { raw: await file.text(), contentType: "text/csv" });
      report.replaceChildren(notice("ok", `Imported ${result.imported} measure(s); ${result.measures} in all.`));
      load();
    } catch (error) { showFailure(report, error); }
  }

  const stop = onLive("values", (items) => {
    for (const item of items) {
      const cells = rows.get(`${item.controller}/${item.name}`);
      if (cells) cells.update(item);
    }
  });
  await load();
  return stop;
}
