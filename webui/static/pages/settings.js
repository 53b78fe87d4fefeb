// Settings: gateway name and labels, cache limits, password, configuration export and import.

import { api } from "../api.js";
import { h, itemForm, notice, showFailure } from "../ui.js";

export async function render(container) {
  const gatewaySlot = h("div"), cacheSlot = h("div"), passwordSlot = h("div"), fileSlot = h("div");
  container.append(h("h1", {}, "Settings"), h("h2", {}, "Gateway and labels"), gatewaySlot, h("h2", {}, "Cache limits"), cacheSlot,
    h("h2", {}, "Password"), passwordSlot, h("h2", {}, "Configuration file"), fileSlot);

  const gateway = await api("GET", "/config/gateway");
  const gatewayForm = itemForm([
    { name: "name", label: "Gateway name" },
    { name: "log_level", label: "Log level", type: "select", options: ["info", "debug", "warning", "error"] },
    { name: "labels", label: "Labels (JSON object, used as ${name} in topics and by scripts)", type: "json" },
    { name: "scripts_change_config", label: "Scripts may change group intervals and labels (quickfaas.config.set)", type: "checkbox" },
  ], gateway, { onSubmit: async (item) => {
    await api("PUT", "/config/gateway", { ...gateway, ...item });
    gatewaySlot.append(notice("ok", "Saved; the gateway restarted with it."));
  } });
  gatewaySlot.append(gatewayForm.element);

  const cache = await api("GET", "/config/cache");
  const cacheForm = itemForm([
    { name: "max_messages", label: "Most messages kept", type: "number" }, { name: "max_mb", label: "Most MiB kept", type: "number" },
    { name: "durability", label: "Durability", type: "select", options: ["normal", "full"] },
    { name: "drain", label: "Drain order", type: "select", options: ["fifo", "live-first"] },
  ], cache, { onSubmit: async (item) => {
    await api("PUT", "/config/cache", { ...cache, ...item });
    cacheSlot.append(notice("ok", "Saved; the gateway restarted with it."));
  } });
  cacheSlot.append(cacheForm.element);

  const passwordForm = itemForm([
    { name: "current", label: "Current password", type: "password" }, { name: "new", label: "New password", type: "password" },
    { name: "repeat", label: "Repeat the new password", type: "password" },
  ], {}, { submitLabel: "Change password", onSubmit: async (item) => {
    if ((item.new || "") !== (item.repeat || "")) {
      passwordForm.showProblems({ message: "the password was not changed", problems: [{ path: "repeat", message: "the two new passwords differ" }] });
      return;
    }
    await api("POST", "/auth/password", { current: item.current, new: item.new });
    passwordSlot.append(notice("ok", "Password changed; other sessions were logged out."));
  } });
  passwordSlot.append(passwordForm.element);

  const file = h("input", { type: "file", name: "config", accept: ".yaml,.yml" });
  const result = h("div");
  fileSlot.append(h("div", { class: "toolbar" },
    h("a", { href: "/api/v1/config/export.yaml", download: "config.yaml" }, "Export config.yaml (passwords hidden)"),
    h("label", {}, "Import a config.yaml", file),
    h("button", { type: "button", onclick: async () => {
      if (!file.files[0]) { result.replaceChildren(notice("error", "Choose a file first.")); return; }
      try {
        const answer = await api("POST", "/config/import", undefined, { raw: await file.files[0].text(), contentType: "application/yaml" });
        result.replaceChildren(notice("ok", `Imported: ${answer.controllers} controller(s), ${answer.measures} measure(s).`));
      } catch (error) { showFailure(result, error, "Nothing was changed: "); }
    } }, "Import")), result);

  const cfg = h("input", { type: "file", name: "ds-cfg", accept: ".cfg,.json" });
  const cfgResult = h("div", { "data-report": "import-ds" });
  fileSlot.append(h("h2", {}, "Import from Device Supervisor"),
    h("p", { class: "muted" }, "A Device Supervisor 2.x configuration export (.cfg) replaces this configuration: controllers, " +
      "measures, groups, alarms, clouds, labels and quickfaas functions (their scripts go to scripts/). What cannot be " +
      "carried over is listed below."),
    h("div", { class: "toolbar" }, h("label", {}, "Device Supervisor .cfg", cfg),
      h("button", { type: "button", "data-action": "import-ds", onclick: async () => {
        if (!cfg.files[0]) { cfgResult.replaceChildren(notice("error", "Choose a .cfg file first.")); return; }
        const data = new FormData();
        data.append("file", cfg.files[0]);
        try {
          const answer = await api("POST", "/config/import-ds", data);
          cfgResult.replaceChildren(notice("ok", `Imported ${answer.controllers} controller(s), ${answer.measures} measure(s), ` +
            `${answer.scripts} script(s).` + (answer.report.length ? " Not carried over:" : ""), answer.report));
        } catch (error) { showFailure(cfgResult, error, "Nothing was changed: "); }
      } }, "Import .cfg")), cfgResult);
}
