// DOM helpers: elements are built with textContent only, so no value from a PLC, a log or a user
// ever becomes markup.

import { WIDGETS } from "./widgets.js";

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function notice(kind, message, items = []) {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message,
    items.length ? h("ul", {}, items.map((item) => h("li", {}, item))) : null);
}

export function showFailure(container, error, prefix = "") {
  const items = (error.body && error.body.errors) || error.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
  container.replaceChildren(notice("error", `${prefix}${error.message}`, items));
}

// decimals: the measure's configured number of decimals (Device Supervisor's "decimal"), when set
export function formatValue(value, decimals) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number" && Number.isInteger(decimals) && decimals >= 0) return value.toFixed(decimals);
  if (typeof value === "number" && !Number.isInteger(value)) return String(Math.round(value * 1e6) / 1e6);
  return String(value);
}

// Times are shown on the gateway's clock, in its time zone, 24-hour, with their date: the
// operator's browser may be elsewhere, and a PLC's "12:03" means the plant's noon.
const clock = { offset: null, zone: "", skew: 0 };

export function setGatewayClock(machine) {
  if (!machine || typeof machine.utc_offset !== "number") return;
  clock.offset = machine.utc_offset;
  clock.zone = machine.time_zone || "";
  clock.skew = machine.time - Date.now() / 1000;  // "x s ago" counts on the gateway's clock
}

export function gatewayZone() {
  if (clock.offset === null) return "";
  const sign = clock.offset < 0 ? "-" : "+", minutes = Math.abs(clock.offset) / 60;
  const offset = `UTC${sign}${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
  return clock.zone && clock.zone !== "UTC" ? `${clock.zone} (${offset})` : offset;
}

export function formatTime(seconds, { withDate = true } = {}) {
  if (!seconds) return "—";
  const shifted = new Date((seconds + (clock.offset ?? -new Date(seconds * 1000).getTimezoneOffset() * 60)) * 1000);
  const text = shifted.toISOString().replace("T", " ").slice(0, 19);
  return withDate ? text : text.slice(11);
}

export function formatAgo(seconds) {
  if (!seconds) return "";
  const age = Math.max(0, Date.now() / 1000 + clock.skew - seconds);
  if (age < 90) return `${Math.round(age)} s ago`;
  if (age < 5400) return `${Math.round(age / 60)} min ago`;
  if (age < 172800) return `${Math.round(age / 3600)} h ago`;
  return `${Math.round(age / 86400)} d ago`;
}

// A time cell: date and time on the gateway's clock, how long ago, the zone on hover.
export function timeCell(seconds, attributes = {}) {
  if (!seconds) return h("td", attributes, "—");
  return h("td", { ...attributes, title: gatewayZone() }, h("time", {}, formatTime(seconds)), " ",
    h("small", { class: "muted", "data-ago": seconds }, formatAgo(seconds)));
}

// "x s ago" moves on between a page's refreshes
setInterval(() => {
  for (const element of document.querySelectorAll("[data-ago]")) element.textContent = formatAgo(Number(element.dataset.ago));
}, 5000);

export function formatDuration(seconds) {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${hh} h` : hh ? `${hh} h ${mm} min` : `${mm} min ${s % 60} s`;
}

// A form for one configuration item. fields: [{name, label, type, options, placeholder, hint}]
// types: text, number, select, checkbox, password, and the structured controls of widgets.js
// (choice, multi, condition, transform, pairs, devices); a select's options are values or
// {value, label}; a dotted name ("args.unit_id") is a member of a nested object. read() returns
// the item with empty fields left out; showProblems() puts each server message next to its field.
export function itemForm(fields, values = {}, { submitLabel = "Save", onSubmit, onCancel } = {}) {
  const inputs = {};
  const widgets = {};
  const errors = {};
  const general = h("div", { class: "general" });
  const form = h("form", { class: "item", novalidate: true });
  for (const field of fields) {
    let input;
    const value = member(values, field.name);
    if (WIDGETS[field.type]) {
      widgets[field.name] = WIDGETS[field.type](field, value);
      input = widgets[field.name].element;
    } else if (field.type === "select") {
      input = h("select", { name: field.name }, (field.options || []).map((option) => {
        const [optionValue, label] = typeof option === "object" ? [option.value, option.label] : [option, option];
        return h("option", { value: optionValue, selected: String(value ?? field.default ?? "") === String(optionValue) },
          label);
      }));
    } else if (field.type === "checkbox") {
      input = h("input", { type: "checkbox", name: field.name, checked: Boolean(value ?? field.default) });
    } else {
      const shown = field.type === "json" ? (value === undefined ? "" : JSON.stringify(value)) : (value ?? "");
      input = h("input", { type: field.type === "number" ? "number" : field.type === "password" ? "password" : "text",
        step: field.type === "number" ? "any" : null, name: field.name, value: shown,
        placeholder: field.placeholder || "", autocomplete: field.type === "password" ? "new-password" : "off" });
    }
    inputs[field.name] = input;
    errors[field.name] = h("span", { class: "field-error", "data-error-for": field.name });
    const hint = field.hint ? h("small", { class: "muted" }, field.hint) : null;
    if (field.type === "checkbox") {
      form.append(h("label", { class: "check" }, input, field.label, hint, errors[field.name]));
    } else if (widgets[field.name] && field.type !== "choice") {  // several controls: a group, not one label
      form.append(h("div", { class: `field ${field.wide ? "full" : ""}`, role: "group", "aria-label": field.label },
        h("span", { class: "field-label" }, field.label), input, hint, errors[field.name]));
    } else {
      form.append(h("label", {}, field.label, input, hint, errors[field.name]));
    }
  }
  const actions = h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, submitLabel),
    onCancel ? h("button", { type: "button", onclick: onCancel }, "Cancel") : null);
  form.append(actions, h("div", { class: "full" }, general));

  function read() {
    const item = {};
    for (const field of fields) {
      const input = inputs[field.name];
      if (widgets[field.name]) {
        const value = widgets[field.name].read();
        if (value !== undefined) setMember(item, field.name, value);
        continue;
      }
      if (field.type === "checkbox") { setMember(item, field.name, input.checked); continue; }
      const text = input.value.trim();
      if (text === "") continue;
      if (field.type === "number") setMember(item, field.name, Number(text));
      else if (field.type === "json") {
        try { setMember(item, field.name, JSON.parse(text)); } catch { setMember(item, field.name, text); }
      } else setMember(item, field.name, text);
    }
    return item;
  }

  function clear() {
    general.replaceChildren();
    for (const name of Object.keys(inputs)) { inputs[name].classList.remove("invalid"); errors[name].textContent = ""; }
  }

  function showProblems(error) {
    clear();
    const unplaced = [];
    for (const problem of error.problems) {
      // "controllers[2].endpoint", "endpoint" or "args.unit_id": the field is the dotted name after
      // the index, or its first part when the form has no field for the member
      const match = /^(?:\w+\[\d+\]\.)?([A-Za-z_]+)(?:\.([A-Za-z_]+))?/.exec(problem.path || "");
      const dotted = match && match[2] ? `${match[1]}.${match[2]}` : null;
      const name = dotted && inputs[dotted] ? dotted : match && inputs[match[1]] ? match[1] : null;
      if (name) {
        inputs[name].classList.add("invalid");
        errors[name].textContent = problem.message;
      } else unplaced.push(problem.path ? `${problem.path}: ${problem.message}` : problem.message);
    }
    general.replaceChildren(notice("error", error.message, unplaced));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear();
    try { await onSubmit(read()); } catch (error) {
      if (error.problems) showProblems(error); else general.replaceChildren(notice("error", String(error)));
    }
  });
  return { element: form, read, showProblems, inputs };
}

function member(values, dotted) {
  return dotted.split(".").reduce((object, key) => (object && typeof object === "object" ? object[key] : undefined),
    values);
}

function setMember(item, dotted, value) {
  const keys = dotted.split(".");
  let object = item;
  for (const key of keys.slice(0, -1)) object = object[key] ??= {};
  object[keys[keys.length - 1]] = value;
}
