// Settings: gateway name and labels, cache limits, password, the web UI's certificate,
// configuration export and import (a Device Supervisor .cfg after a preview of what it changes).

import { api } from "../api.js";
import { formatTime, h, itemForm, notice, showFailure } from "../ui.js";

export async function render(container) {
  const gatewaySlot = h("div"), cacheSlot = h("div"), passwordSlot = h("div"), fileSlot = h("div");
  const certificateSlot = h("div", { "data-settings": "certificate" });
  container.append(h("h1", {}, "Settings"), h("h2", {}, "Gateway and labels"), gatewaySlot, h("h2", {}, "Cache limits"), cacheSlot,
    h("h2", {}, "Password"), passwordSlot, h("h2", {}, "Web UI certificate (HTTPS)"), certificateSlot,
    h("h2", {}, "Configuration file"), fileSlot);

  const gateway = await api("GET", "/config/gateway");
  const gatewayForm = itemForm([
    { name: "name", label: "Gateway name" },
    { name: "log_level", label: "Log level", type: "select", options: ["info", "debug", "warning", "error"] },
    { name: "labels", label: "Labels (each is ${name} in topics, and scripts read them)", type: "pairs", keepEmpty: true,
      wide: true, addLabel: "+ add a label" },
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

  async function showCertificate(answer) {
    const c = answer || await api("GET", "/settings/web-certificate");
    if (!c.tls) { certificateSlot.replaceChildren(h("p", { class: "muted" }, "The UI is served without TLS (gateway.web.tls: false).")); return; }
    const certFile = h("input", { type: "file", name: "web-cert", accept: ".pem,.crt" });
    const keyFile = h("input", { type: "file", name: "web-key", accept: ".pem,.key" });
    const result = h("div");
    certificateSlot.replaceChildren(h("div", { class: "figures" },
      h("span", { class: "muted" }, "SHA-256 fingerprint"), h("code", { "data-fingerprint": c.fingerprint }, c.fingerprint),
      h("span", { class: "muted" }, "Subject"), h("span", {}, c.subject),
      h("span", { class: "muted" }, "Names"), h("span", {}, c.names.join(", ")),
      h("span", { class: "muted" }, "Valid until"), h("span", {}, formatTime(c.not_after)),
      h("span", { class: "muted" }, "Origin"), h("span", {}, c.made_by_the_gateway ? "made by the gateway at its first start (self-signed)" : "uploaded")),
    h("div", { class: "toolbar" }, h("label", {}, "Certificate with its chain (PEM)", certFile), h("label", {}, "Private key (PEM, no password)", keyFile),
      h("button", { type: "button", "data-action": "upload-certificate", onclick: async () => {
        if (!certFile.files[0] || !keyFile.files[0]) { result.replaceChildren(notice("error", "Choose the certificate and its key.")); return; }
        const data = new FormData();
        data.append("cert", certFile.files[0]);
        data.append("key", keyFile.files[0]);
        try {
          const served = await api("POST", "/settings/web-certificate", data);
          await showCertificate(served);
          certificateSlot.append(notice("ok", "Installed: new connections get this certificate."));
        } catch (error) { showFailure(result, error); }
      } }, "Use this certificate")), result);
  }
  await showCertificate();

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
        const data = () => { const form = new FormData(); form.append("file", cfg.files[0]); return form; };
        let preview;
        try { preview = await api("POST", "/config/import-ds?preview=1", data()); } catch (error) {
          showFailure(cfgResult, error, "Nothing was changed: ");
          return;
        }
        const apply = async () => {
          try {
            const answer = await api("POST", "/config/import-ds", data());
            cfgResult.replaceChildren(notice("ok", `Imported ${answer.controllers} controller(s), ${answer.measures} measure(s), ` +
              `${answer.scripts} script(s).` + (answer.report.length ? " Not carried over:" : ""), answer.report));
          } catch (error) { showFailure(cfgResult, error, "Nothing was changed: "); }
        };
        cfgResult.replaceChildren(notice("warn", `This replaces the configuration with ${preview.controllers} controller(s), ` +
          `${preview.measures} measure(s) and ${preview.scripts} script(s). What changes:`,
          preview.changes.length ? preview.changes : ["nothing"]),
          preview.report.length ? notice("", "Not carried over:", preview.report) : "",
          h("div", { class: "toolbar" }, h("button", { type: "button", class: "primary", "data-action": "confirm-import-ds", onclick: apply },
            "Replace the configuration"), h("button", { type: "button", onclick: () => cfgResult.replaceChildren(notice("", "Nothing was changed.")) }, "Cancel")));
      } }, "Import .cfg…")), cfgResult);
}
