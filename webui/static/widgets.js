// Form controls for the configuration's structured values, instead of JSON typed by hand: a choice
// from the configuration, several choices, an alarm condition, a transform by kind, labels as
// name/value rows, IoTgo devices as rows. Each widget is { element, read() } where read() returns
// the value for the configuration, or undefined when it is left empty.

import { h } from "./ui.js";

export const OPERATORS = [["gt", ">"], ["egt", "≥"], ["lt", "<"], ["elt", "≤"], ["eq", "="], ["neq", "≠"]];

// The kinds of transform and their fields (docs/configuration.md, measures[].transform)
const TRANSFORMS = {
  gain_offset: { title: "gain and offset (raw × gain + offset)", fields: [["gain", 1], ["offset", 0]] },
  ratio: { title: "range to range", fields: [["min_value", 0], ["max_value", 65535], ["min_scale", 0], ["max_scale", 100]] },
  pt_ct: { title: "PT × CT (meter behind transformers)", fields: [["pt", 1], ["ct", 1]] },
  bit_slice: { title: "bits start..end of the raw value", fields: [["start", 0], ["end", 7]] },
  value_map: { title: "raw values to names", fields: [] },
};

export const WIDGETS = { choice, multi, condition, transform, pairs, devices };

function options(field, value) {
  const known = (field.options || []).map((o) => (typeof o === "object" ? o : { value: o, label: o }));
  if (value !== undefined && value !== null && value !== "" && !known.some((o) => String(o.value) === String(value))) {
    known.push({ value, label: `${value} (not in the configuration)` });  // shown, and refused on save by the gateway
  }
  return known;
}

// One value of the configuration (a controller, a group, a cloud, a script file...)
function choice(field, value) {
  const chosen = value ?? field.default ?? "";
  const element = h("select", { name: field.name },
    field.optional || !(field.options || []).length ? h("option", { value: "" }, field.none || "—") : null,
    options(field, chosen).map((o) => h("option", { value: o.value, selected: String(o.value) === String(chosen) }, o.label)));
  return { element, read: () => (element.value === "" ? undefined : element.value) };
}

// Several values (groups of a rule, alarm labels): a box per choice
function multi(field, value) {
  const chosen = new Set((value || []).map(String));
  const boxes = options(field, undefined).concat([...chosen].filter((v) => !(field.options || []).map(String).includes(v))
    .map((v) => ({ value: v, label: `${v} (not in the configuration)` })))
    .map((o) => h("input", { type: "checkbox", value: o.value, checked: chosen.has(String(o.value)), "data-choice": o.value }));
  const element = h("div", { class: "choices", "data-field": field.name },
    boxes.length ? boxes.map((box) => h("label", { class: "check" }, box, box.dataset.choice)) : h("span", { class: "muted" }, field.none || "none yet"));
  return { element, read: () => { const picked = boxes.filter((b) => b.checked).map((b) => b.value); return picked.length || field.keepEmpty ? picked : undefined; } };
}

// An alarm condition: an operator and a value
function condition(field, value) {
  const op = h("select", { name: `${field.name}.op` }, OPERATORS.map(([key, sign]) =>
    h("option", { value: key, selected: (value?.op ?? "gt") === key }, sign)));
  const number = h("input", { type: "number", step: "any", name: `${field.name}.value`, value: value?.value ?? "",
    placeholder: "value" });
  const element = h("div", { class: "inline", "data-field": field.name }, op, number);
  return { element, read: () => (number.value.trim() === "" ? undefined : { op: op.value, value: Number(number.value) }) };
}

// A transform: its kind, then that kind's numbers (or a value map's rows)
function transform(field, value) {
  const kind = h("select", { name: `${field.name}.kind` }, h("option", { value: "" }, "none (the raw value)"),
    Object.entries(TRANSFORMS).map(([key, spec]) => h("option", { value: key, selected: value?.kind === key }, spec.title)));
  const body = h("div", { class: "inline" });
  let readBody = () => ({});
  function draw(current) {
    const spec = TRANSFORMS[kind.value];
    if (!spec) { body.replaceChildren(); readBody = () => ({}); return; }
    if (kind.value === "value_map") {
      const rows = pairs({ name: `${field.name}.map`, keyLabel: "raw", valueLabel: "name" }, current?.map || {});
      body.replaceChildren(rows.element);
      readBody = () => ({ map: typed(rows.read() || {}) });
      return;
    }
    const inputs = spec.fields.map(([name, fallback]) => [name, h("input", { type: "number", step: "any",
      name: `${field.name}.${name}`, value: current?.[name] ?? fallback, title: name })]);
    body.replaceChildren(...inputs.map(([name, input]) => h("label", {}, name.replace("_", " "), input)));
    readBody = () => Object.fromEntries(inputs.filter(([, i]) => i.value.trim() !== "").map(([n, i]) => [n, Number(i.value)]));
  }
  kind.addEventListener("change", () => draw({}));
  draw(value);
  const element = h("div", { class: "stack", "data-field": field.name }, kind, body);
  return { element, read: () => (kind.value ? { kind: kind.value, ...readBody() } : undefined) };
}

// a value map's raw side: numbers where they are numbers
function typed(map) {
  return Object.fromEntries(Object.entries(map).map(([raw, name]) => [raw, name === "true" ? true : name === "false" ? false : name]));
}

// Rows the user adds and removes; build(start) makes one row: { controls, read() }, read()
// giving the row's value or undefined when it is left empty
function rowList(field, starts, build, addLabel) {
  const list = h("div", { class: "stack" });
  const rows = new Set();  // in the order they were added
  function add(start) {
    const row = build(start);
    const line = h("div", { class: "inline" }, ...row.controls,
      h("button", { type: "button", title: "remove", onclick: () => { line.remove(); rows.delete(row); } }, "×"));
    rows.add(row);
    list.append(line);
  }
  starts.forEach(add);
  const element = h("div", { class: "stack", "data-field": field.name }, list,
    h("button", { type: "button", class: "link-button", onclick: () => add(undefined) }, addLabel));
  return { element, values: () => [...rows].map((row) => row.read()).filter((v) => v !== undefined) };
}

// Name/value rows (labels)
function pairs(field, value) {
  const rows = rowList(field, Object.entries(value || {}), ([key, val] = ["", ""]) => {
    const name = h("input", { name: `${field.name}.key`, value: key, placeholder: field.keyLabel || "name", size: 12 });
    const text = h("input", { name: `${field.name}.value`, value: String(val), placeholder: field.valueLabel || "value", size: 16 });
    return { controls: [name, text], read: () => (name.value.trim() ? [name.value.trim(), text.value] : undefined) };
  }, field.addLabel || "+ add");
  return { element: rows.element, read: () => {
    const entries = rows.values();
    return entries.length || field.keepEmpty ? Object.fromEntries(entries) : undefined;
  } };
}

// IoTgo devices: a row each with its id, key and measures (or a whole group)
function devices(field, value) {
  const rows = rowList(field, value || [], (device = {}) => {
    const id = h("input", { name: "deviceid", value: device.deviceid || "", placeholder: "deviceid, e.g. 1080000001", size: 14 });
    const key = h("input", { name: "apikey", value: device.apikey || "", placeholder: "apikey (a UUID)", size: 38 });
    const group = choice({ name: "group", options: field.groups || [], optional: true, none: "— measures below —" }, device.group);
    const measures = h("input", { name: "measures", value: (device.measures || []).join(", "),
      placeholder: "measures: Temp, PLC1/Level", size: 28 });
    const factory = h("input", { type: "checkbox", name: "factory", checked: Boolean(device.factory) });
    return { controls: [id, key, group.element, measures, h("label", { class: "check" }, factory, "factory")], read: () => {
      if (!id.value.trim()) return undefined;
      const found = { deviceid: id.value.trim(), apikey: key.value.trim() };
      const chosen = group.read();
      if (chosen) found.group = chosen;
      const names = measures.value.split(",").map((n) => n.trim()).filter(Boolean);
      if (names.length) found.measures = names;
      if (factory.checked) found.factory = true;
      return found;
    } };
  }, "+ add a device");
  return { element: rows.element, read: () => { const found = rows.values(); return found.length ? found : undefined; } };
}
