// Data services: what the gateway serves to a local SCADA or HMI (Modbus TCP slave, ...). Each
// service has its settings form and, once configured, the table of where it serves each measure.

import { api } from "../api.js";
import { h, itemForm, notice } from "../ui.js";

export async function render(container) {
  const body = h("div");
  container.append(h("h1", {}, "Data services"), body);
  async function load() {
    let services;
    try { services = await api("GET", "/services"); } catch (error) {
      body.replaceChildren(notice("error", error.message)); return;
    }
    body.replaceChildren(...services.map((service) => section(service, load)));
  }
  await load();
}

function section(service, reload) {
  const block = h("div", { "data-service": service.key });
  const configured = service.settings !== null;
  const fields = service.fields.map(settingField);
  const form = itemForm(fields, service.settings || {}, {
    submitLabel: configured ? "Save" : "Turn on",
    onSubmit: async (item) => {
      try { await api("PUT", `/config/services/${service.key}`, item); } catch (error) {
        // "services.modbus_server.port" is the form's "port"
        if (error.body && error.body.problems) {
          error.body.problems = error.problems.map((p) => ({ ...p, path: (p.path || "").replace(`services.${service.key}.`, "") }));
        }
        throw error;
      }
      await reload();
    },
  });
  const remove = configured ? h("button", { type: "button", "data-remove": service.key, onclick: async () => {
    if (!confirm(`Remove the ${service.title} settings? The service stops.`)) return;
    try { await api("DELETE", `/config/services/${service.key}`); await reload(); } catch (error) {
      block.append(notice("error", error.message));
    }
  } }, "Remove") : null;
  block.append(h("h2", {}, service.title), h("p", { class: "muted" }, configured ? (service.settings.enabled === false ? "configured, turned off" : "configured") : "not configured"),
    form.element, ...(remove ? [remove] : []), ...(configured ? [served(service)].flat() : []));
  return block;
}

function settingField(field) {
  const type = { integer: "number", number: "number", boolean: "checkbox", select: "select", array: "json", object: "json" }[field.type] || "text";
  const shownDefault = field.default === null || field.default === undefined ? "" : JSON.stringify(field.default);
  return { name: field.name, label: field.name.replaceAll("_", " "), type, options: field.options, default: field.default,
    placeholder: shownDefault && `default ${shownDefault}`, hint: field.description };
}

function served(service) {
  if (!service.served.length) return h("p", { class: "muted" }, "No measure is served yet.");
  return [h("h3", {}, "Served measures"), h("table", { "data-table": `served-${service.key}` },
    h("tr", {}, ["Controller", "Measure", "Address", "Type", "Access", "Quality at"].map((t) => h("th", {}, t))),
    service.served.map((row) => h("tr", {}, h("td", {}, row.controller), h("td", {}, row.measure), h("td", {}, row.address),
      h("td", {}, row.type), h("td", {}, row.access), h("td", {}, row.quality_address || ""))))];
}
