// Configuration sections: a table of items with add, edit and delete; clouds also take
// certificate files. Every save is validated by the gateway; its messages appear by the fields.

import { api } from "../api.js";
import { h, itemForm, notice, showFailure } from "../ui.js";
import { FIELDS, cloudFields, configChoices, controllerFields, savedBody, withChoices } from "./fields.js";

const PAGES = {
  controllers: { title: "Controllers", sections: ["controllers", "serial_ports"] },
  groups: { title: "Groups", sections: ["groups"] },
  alarms: { title: "Alarm rules", sections: ["alarms"] },
  clouds: { title: "Clouds", sections: ["clouds"] },
  rules: { title: "Rules & functions", sections: ["publish", "subscribe", "functions"] },
};
const TITLES = { controllers: "Controllers", serial_ports: "Serial ports", groups: "Groups", alarms: "Alarm rules",
  clouds: "Clouds", publish: "Publish rules", subscribe: "Subscribe rules", functions: "Custom functions" };
const SUMMARY = { controllers: ["protocol", "endpoint", "sample_period"], serial_ports: ["device", "baud", "parity"],
  groups: ["upload_interval", "history"], alarms: ["measure", "level", "cond1"], clouds: ["type", "host", "port"],
  publish: ["cloud", "topic", "groups", "script"], subscribe: ["cloud", "topic", "script"],
  functions: ["mode", "period", "script"] };

// Column headers in words; a list shows its values, a condition as "> 80"
const HEADERS = { name: "Name", protocol: "Protocol", endpoint: "Endpoint", sample_period: "Poll every (s)",
  device: "Device", baud: "Baud", parity: "Parity", upload_interval: "Upload every (s)", history: "History",
  measure: "Measure", level: "Level", cond1: "Condition", type: "Type", host: "Host", port: "Port", cloud: "Cloud",
  topic: "Topic", groups: "Groups", script: "Script", mode: "Mode", period: "Period (s)" };
const OPERATORS = { eq: "=", neq: "≠", gt: ">", egt: "≥", lt: "<", elt: "≤" };

function shown(value) {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "object" && value.op in OPERATORS) return `${OPERATORS[value.op]} ${value.value}`;
  if (typeof value === "boolean") return value ? "yes" : "no";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

export function page(name) {
  return { render: (container) => renderPage(container, PAGES[name]) };
}

async function renderPage(container, spec) {
  container.append(h("h1", {}, spec.title));
  if (spec.note) container.append(notice("", spec.note));
  for (const section of spec.sections) {
    const block = h("div", { "data-section": section });
    container.append(block);
    await renderSection(block, section);
  }
}

let protocols = null; // the registry's catalogue, asked for once

export async function renderSection(block, section) {
  const report = h("div");
  const formSlot = h("div");
  const table = h("table", { "data-table": section });
  block.replaceChildren(h("h2", {}, TITLES[section]),
    h("div", { class: "toolbar" }, h("button", { type: "button", onclick: () => edit(null), "data-add": section }, `Add`),
      h("a", { href: `/docs/configuration.md`, target: "_blank", rel: "noopener", "data-reference": section },
        `Every key of ${section} explained`)),
    report, formSlot, table);

  let browsable = new Set();

  async function load() {
    if (section === "controllers") {
      try { protocols ??= await api("GET", "/protocols"); } catch (error) { showFailure(report, error); return; }
      browsable = new Set(protocols.filter((p) => p.can_browse).map((p) => p.protocol));
    }
    let items;
    try { items = await api("GET", `/config/${section}`); } catch (error) { showFailure(report, error); return; }
    const columns = ["name", ...SUMMARY[section]];
    table.replaceChildren(h("tr", {}, columns.map((c) => h("th", {}, HEADERS[c] || c)), h("th", {}, "")),
      ...items.map((item) => h("tr", { dataset: { name: item.name } },
        columns.map((c) => h("td", {}, shown(item[c]))),
        h("td", {}, h("button", { type: "button", onclick: () => edit(item) }, "Edit"),
          section === "clouds" ? h("button", { type: "button", onclick: () => certificates(item) }, "Certificates") : null,
          section === "controllers" && browsable.has(item.protocol)
            ? h("button", { type: "button", onclick: () => browse(item, null, []), "data-browse": item.name }, "Browse")
            : null,
          h("button", { type: "button", class: "danger", onclick: () => remove(item) }, "Delete")))));
    if (!items.length) table.append(h("tr", {}, h("td", { colspan: columns.length + 1, class: "muted" }, "None yet.")));
  }

  async function edit(item, shownValues = item || {}) {
    let fields = FIELDS[section];
    if (section === "controllers") {
      try { protocols ??= await api("GET", "/protocols"); } catch (error) { showFailure(report, error); return; }
      fields = controllerFields(protocols, shownValues.protocol);
    }
    if (section === "clouds") fields = cloudFields(shownValues.type);
    fields = withChoices(fields, await configChoices());
    const form = itemForm(fields, shownValues, {
      submitLabel: item ? "Save" : "Add",
      onCancel: () => formSlot.replaceChildren(),
      onSubmit: async (values) => {
        const body = withKept(values);
        if (item) await api("PUT", `/config/${section}/${encodeURIComponent(item.name)}`, body);
        else await api("POST", `/config/${section}`, body);
        formSlot.replaceChildren(notice("ok", `Saved '${body.name}'; the gateway restarted with it.`));
        load();
      },
    });
    // every type's fields count as shown: a cloud changed to mqtt leaves its IoTgo devices behind
    const withKept = (values) => savedBody(item, [...FIELDS[section], ...fields], values);
    if (section === "controllers" || section === "clouds") {
      const said = h("span", { "data-test-result": section });
      form.element.querySelector(".actions").append(h("button", { type: "button", "data-action": "test-connection",
        onclick: async () => {
          said.replaceChildren(h("span", { class: "muted" }, "connecting…"));
          try {
            const answer = await api("POST", `/config/${section}/test`, withKept(form.read()));
            said.replaceChildren(h("span", { class: answer.connected ? "ok" : "bad" }, answer.said));
          } catch (error) {
            said.replaceChildren();
            if (error.problems) form.showProblems(error); else said.replaceChildren(h("span", { class: "bad" }, error.message));
          }
        } }, "Test connection"), said);
    }
    // another protocol has other args, another cloud type other fields: the form is drawn again
    // for it, keeping what was typed
    form.inputs.protocol?.addEventListener("change", () => {
      const { args: _args, ...typed } = form.read();
      edit(item, typed);
    });
    if (section === "clouds") form.inputs.type?.addEventListener("change", () => edit(item, { ...shownValues, ...form.read() }));
    formSlot.replaceChildren(h("h3", {}, item ? `Edit ${item.name}` : `Add to ${TITLES[section]}`), form.element);
  }

  // What the device has under a node: folders open, values become measures with one click.
  async function browse(controller, node, trail) {
    const result = h("div");
    formSlot.replaceChildren(h("h3", {}, `Browse ${controller.name}`), result);
    let answer;
    try {
      const query = node ? `?node=${encodeURIComponent(node.address)}` : "";
      answer = await api("GET", `/controllers/${encodeURIComponent(controller.name)}/browse${query}`);
    } catch (error) { showFailure(result, error); return; }
    const path = [...trail, ...(node ? [node] : [])];
    const crumbs = h("div", { class: "toolbar" },
      h("button", { type: "button", onclick: () => browse(controller, null, []) }, "Top"),
      path.map((step, index) => h("button", { type: "button", onclick: () => browse(controller, step, path.slice(0, index)) },
        step.name)),
      h("button", { type: "button", onclick: () => formSlot.replaceChildren() }, "Close"));
    const note = h("div");
    const rows = answer.items.map((entry) => h("tr", { dataset: { address: entry.address } },
      h("td", {}, entry.name), h("td", {}, entry.address), h("td", {}, entry.folder ? "folder" : entry.type || "—"),
      h("td", {}, entry.folder
        ? h("button", { type: "button", onclick: () => browse(controller, entry, path) }, "Open")
        : entry.type ? h("button", { type: "button", onclick: () => addMeasure(controller, entry, note) }, "Add measure")
          : h("span", { class: "muted" }, "no measure type reads it"))));
    result.replaceChildren(crumbs, note, h("table", { "data-browse-table": controller.name },
      h("tr", {}, ["name", "address", "type", ""].map((c) => h("th", {}, c))), ...rows));
  }

  async function addMeasure(controller, entry, note) {
    try {
      const groups = await api("GET", "/config/groups");
      const name = entry.name.replace(/[^A-Za-z0-9_.-]/g, "_");
      await api("POST", "/config/measures", { name, controller: controller.name, group: groups[0].name,
        address: entry.address, type: entry.type, ...(entry.type === "STRING" ? { length: 32 } : {}) });
      note.replaceChildren(notice("ok", `Added measure '${name}' (${entry.address}) to group ${groups[0].name}.`));
    } catch (error) { showFailure(note, error); }
  }

  async function remove(item) {
    if (!confirm(`Delete '${item.name}'?`)) return;
    try { await api("DELETE", `/config/${section}/${encodeURIComponent(item.name)}`); load(); }
    catch (error) { showFailure(report, error); }
  }

  function certificates(item) {
    const cert = h("input", { type: "file", name: "cert" });
    const key = h("input", { type: "file", name: "key" });
    const ca = h("input", { type: "file", name: "root_ca" });
    const bundle = h("input", { type: "file", name: "bundle", accept: ".zip" });
    const thing = h("input", { name: "thing", placeholder: "only if the zip holds several things" });
    const result = h("div");
    const form = h("form", { class: "item" }, h("label", {}, "Certificate (PEM)", cert), h("label", {}, "Private key (PEM)", key),
      h("label", {}, "CA certificate (PEM)", ca),
      h("label", {}, "…or a thing bundle (zip: one folder per thing with cert.pem, privkey.pem)", bundle),
      h("label", {}, "Thing", thing),
      h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Upload"),
        h("button", { type: "button", onclick: () => formSlot.replaceChildren() }, "Cancel")),
      h("p", { class: "muted full" }, "The key is stored readable by the gateway only and is never shown again."),
      h("div", { class: "full" }, result));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData();
      const isBundle = Boolean(bundle.files[0]);
      for (const input of isBundle ? [bundle] : [cert, key, ca]) if (input.files[0]) data.append(input.name, input.files[0]);
      if (isBundle && thing.value.trim()) data.append("thing", thing.value.trim());
      try {
        const answer = await api("POST", `/clouds/${encodeURIComponent(item.name)}/${isBundle ? "bundle" : "certificates"}`, data);
        result.replaceChildren(notice("ok", answer.message));
        load();
      } catch (error) { showFailure(result, error); }
    });
    formSlot.replaceChildren(h("h3", {}, `Certificates of ${item.name}`), form);
  }

  await load();
}
