// The form fields of each configuration section, shared by the section pages. A field with
// "choices" is filled from the configuration (withChoices): a controller, group, cloud, measure or
// script is picked, never typed, so a typo cannot reach the gateway.

import { api } from "../api.js";

const TYPES = ["BIT", "BOOL", "BYTE", "SINT", "WORD", "INT", "DWORD", "DINT", "ULONG", "LONG", "FLOAT", "DOUBLE",
  "STRING", "BCD"];

export const FIELDS = {
  measures: [
    { name: "name", label: "Name" }, { name: "controller", label: "Controller", type: "choice", choices: "controllers" },
    { name: "group", label: "Group", type: "choice", choices: "groups" },
    { name: "address", label: "Address", placeholder: "40001, DB1.DBD0, sine…" },
    { name: "type", label: "Type", type: "select", options: TYPES, default: "FLOAT" },
    { name: "access", label: "Access", type: "select", options: ["ro", "rw"] },
    { name: "unit", label: "Unit" }, { name: "desc", label: "Description" },
    { name: "decimal", label: "Decimals", type: "number" }, { name: "length", label: "Length (STRING)", type: "number" },
    { name: "byte_order", label: "Byte order", type: "select", options: ["", "abcd", "badc", "cdab", "dcba"] },
    { name: "upload", label: "Upload", type: "select", options: ["periodic", "onchange", "never"] },
    { name: "deadband", label: "Deadband", type: "number" },
    { name: "transform", label: "Transform", type: "transform", wide: true },
  ],
  controllers: [
    { name: "name", label: "Name" },
    // the protocols, their endpoint examples and their args fields come from GET /protocols
    { name: "protocol", label: "Protocol", type: "select", options: [] },
    { name: "endpoint", label: "Endpoint" },
    { name: "sample_period", label: "Sample period (s)", type: "number", default: 1 },
    { name: "timeout", label: "Timeout (s)", type: "number", default: 2 },
  ],
  groups: [
    { name: "name", label: "Name" }, { name: "upload_interval", label: "Upload interval (s)", type: "number", default: 10 },
    { name: "history", label: "Keep history", type: "checkbox" },
    { name: "history_days", label: "History kept (days)", type: "number" },
    { name: "history_max_points", label: "History points per measure", type: "number" },
  ],
  alarms: [
    { name: "name", label: "Name" }, { name: "measure", label: "Measure", type: "choice", choices: "measures" },
    { name: "controller", label: "Controller (when the name is on several)", type: "choice", choices: "controllers",
      optional: true },
    { name: "level", label: "Level", type: "select", default: 1, options: [{ value: 1, label: "1 Reminder" },
      { value: 2, label: "2 Warning" }, { value: 3, label: "3 Minor" }, { value: 4, label: "4 Major" }, { value: 5, label: "5 Critical" }] },
    { name: "content", label: "Content" },
    { name: "cond1", label: "Raised when the value is", type: "condition" },
    { name: "combine", label: "Combine", type: "select", options: [{ value: "none", label: "one condition" },
      { value: "and", label: "and condition 2" }, { value: "or", label: "or condition 2" }] },
    { name: "cond2", label: "Condition 2", type: "condition" },
    { name: "label", label: "Label", placeholder: "default" },
    { name: "hysteresis", label: "Hysteresis", type: "number" }, { name: "delay", label: "Delay (s)", type: "number" },
  ],
  clouds: [
    { name: "name", label: "Name" }, { name: "type", label: "Type", type: "select", options: ["mqtt", "aws-iot", "iotgo", "sparkplug"] },
    { name: "host", label: "Host" }, { name: "port", label: "Port", type: "number" },
    { name: "client_id", label: "Client id" }, { name: "username", label: "Username" },
    { name: "password", label: "Password", type: "password" }, { name: "tls", label: "TLS", type: "checkbox" },
    { name: "keepalive", label: "Keepalive (s)", type: "number" },
    { name: "publish_rate", label: "Publishes per second", type: "number" },
    { name: "max_inflight", label: "Max in flight", type: "number" },
    { name: "devices", label: "IoTgo devices (type iotgo)", type: "devices", wide: true },
    { name: "update_interval", label: "IoTgo update interval (s)", type: "number" },
    { name: "query_interval", label: "IoTgo: ask DIY devices for the app's changes every (s)", type: "number" },
    { name: "sparkplug.group_id", label: "Sparkplug group id (type sparkplug)" },
    { name: "sparkplug.edge_node_id", label: "Sparkplug edge node id (default: the gateway's name)" },
    { name: "sparkplug.groups", label: "Sparkplug: only these measure groups (none ticked: all)", type: "multi",
      choices: "groups" },
  ],
  publish: [
    { name: "name", label: "Name" }, { name: "cloud", label: "Cloud", type: "choice", choices: "clouds" },
    { name: "topic", label: "Topic" },
    { name: "qos", label: "QoS", type: "select", options: ["1", "0"] },
    { name: "source", label: "Source", type: "select", options: ["group", "alarm"] },
    { name: "groups", label: "Groups (source group)", type: "multi", choices: "groups" },
    { name: "labels", label: "Alarm labels (source alarm)", type: "multi", choices: "labels" },
    { name: "script", label: "Script file", type: "choice", choices: "scripts", optional: true, none: "— none: values as they are —" },
    { name: "function", label: "Function" },
  ],
  subscribe: [
    { name: "name", label: "Name" }, { name: "cloud", label: "Cloud", type: "choice", choices: "clouds" },
    { name: "topic", label: "Topic" },
    { name: "qos", label: "QoS", type: "select", options: ["1", "0"] },
    { name: "script", label: "Script file", type: "choice", choices: "scripts" }, { name: "function", label: "Function" },
  ],
  functions: [
    { name: "name", label: "Name" }, { name: "mode", label: "Mode", type: "select", options: ["periodic", "startup", "message"] },
    { name: "period", label: "Period (s)", type: "number" },
    { name: "cloud", label: "Cloud (mode message)", type: "choice", choices: "clouds", optional: true },
    { name: "trigger_topic", label: "Trigger topic (mode message)" },
    { name: "script", label: "Script file", type: "choice", choices: "scripts" }, { name: "function", label: "Function" },
  ],
  serial_ports: [
    { name: "name", label: "Name" }, { name: "device", label: "Device", placeholder: "/dev/ttyS1" },
    { name: "baud", label: "Baud", type: "number", default: 9600 }, { name: "bits", label: "Data bits", type: "select", options: ["8", "7"] },
    { name: "parity", label: "Parity", type: "select", options: ["N", "E", "O"] },
    { name: "stopbits", label: "Stop bits", type: "select", options: ["1", "2"] },
  ],
};

// The cloud form shows the fields of its type only (an MQTT broker has no IoTgo devices)
const MQTT_FIELDS = ["name", "type", "host", "port", "client_id", "username", "password", "tls", "keepalive", "publish_rate",
  "max_inflight"];
const CLOUD_TYPES = {
  mqtt: MQTT_FIELDS,
  "aws-iot": ["name", "type", "host", "port", "client_id", "keepalive", "publish_rate", "max_inflight"],
  iotgo: ["name", "type", "host", "port", "tls", "devices", "update_interval", "query_interval"],
  sparkplug: [...MQTT_FIELDS, "sparkplug.group_id", "sparkplug.edge_node_id", "sparkplug.groups"],
};

export function cloudFields(type) {
  const shown = CLOUD_TYPES[type] || CLOUD_TYPES.mqtt;
  return FIELDS.clouds.filter((field) => shown.includes(field.name)).map((field) =>
    field.name === "type" ? { ...field, default: type || "mqtt" } : field);
}

// The controller form for one protocol of the registry's catalogue (GET /protocols): its own
// endpoint example and address forms, and a field for each of its args.
export function controllerFields(protocols, chosen) {
  const protocol = protocols.find((p) => p.protocol === chosen) || protocols[0];
  const fields = FIELDS.controllers.map((field) => {
    if (field.name === "protocol") {
      return { ...field, options: protocols.map((p) => ({ value: p.protocol, label: p.title })), default: protocol.protocol,
        hint: protocol.address_forms.length ? `Addresses: ${protocol.address_forms.join("; ")}` : "" };
    }
    return field.name === "endpoint" ? { ...field, placeholder: protocol.endpoint_example,
      hint: protocol.default_port ? `without a port: ${protocol.default_port}` : "" } : field;
  });
  return [...fields, ...protocol.args.map(argField)];
}

function argField(arg) {
  const type = { integer: "number", number: "number", boolean: "checkbox", select: "select" }[arg.type] || "text";
  const shownDefault = arg.default === null || arg.default === undefined ? "" : String(arg.default);
  return { name: `args.${arg.name}`, label: arg.name.replaceAll("_", " "), type, options: arg.options,
    default: arg.default, placeholder: shownDefault && `default ${shownDefault}`, hint: arg.description };
}

// What the forms pick from, read from the configuration when a form opens
export async function configChoices() {
  const [controllers, groups, clouds, alarms, scripts, measures] = await Promise.all(
    ["/config/controllers", "/config/groups", "/config/clouds", "/config/alarms", "/scripts/files", "/config/measures"]
      .map((path) => api("GET", path).catch(() => [])));
  const byName = new Map();
  for (const m of measures) byName.set(m.name, [...(byName.get(m.name) || []), m.controller]);
  return {
    controllers: controllers.map((c) => c.name), groups: groups.map((g) => g.name), clouds: clouds.map((c) => c.name),
    labels: [...new Set(["default", ...alarms.map((a) => a.label || "default")])],
    scripts: scripts.map((s) => ({ value: `scripts/${s.name}`, label: s.name })),
    measures: [...byName].map(([name, owners]) => ({ value: name, label: `${name} (${owners.join(", ")})` })),
  };
}

// The fields with their choices filled in
export function withChoices(fields, choices) {
  return fields.map((field) => {
    if (field.type === "devices") return { ...field, groups: choices.groups };
    return field.choices ? { ...field, options: choices[field.choices] || [] } : field;
  });
}

// The body a form saves: what it holds, and what the saved item has that the form does not show
// (a cloud's certificate files, will and shadow, a STRING's encoding...), kept as it was.
export function savedBody(saved, fields, values) {
  const shown = new Set(fields.map((f) => f.name.split(".")[0]));
  return cleaned({ ...Object.fromEntries(Object.entries(saved || {}).filter(([key]) => !shown.has(key))), ...values });
}

// select values are strings; these fields are numbers in the configuration
const NUMERIC_SELECTS = new Set(["qos", "bits", "stopbits", "level"]);

function cleaned(item) {
  const result = {};
  for (const [key, value] of Object.entries(item)) {
    if (value === "") continue;
    result[key] = NUMERIC_SELECTS.has(key) ? Number(value) : value;
  }
  return result;
}
