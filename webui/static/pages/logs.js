// Logs: the gateway's log, live, with a level filter; and each script's own log.

import { api } from "../api.js";
import { onLive } from "../live.js";
import { h, notice } from "../ui.js";

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"];

export async function render(container) {
  const level = h("select", { name: "level" }, LEVELS.map((l) => h("option", { value: l, selected: l === "INFO" }, l)));
  const box = h("div", { class: "log", "data-log": "gateway" });
  const scriptSelect = h("select", { name: "script" }, h("option", { value: "" }, "— choose a script —"));
  const scriptBox = h("div", { class: "log", "data-log": "script" });
  const lines = [];
  container.append(h("h1", {}, "Logs"), h("div", { class: "toolbar" }, h("label", {}, "Level", level)), box,
    h("h2", {}, "Script logs"), h("div", { class: "toolbar" }, scriptSelect), scriptBox);

  const rank = (l) => Math.max(0, LEVELS.indexOf(l === "CRITICAL" ? "ERROR" : l));
  function show() {
    const floor = rank(level.value);
    box.replaceChildren(...lines.filter((l) => rank(l.level) >= floor).map(line));
    box.scrollTop = box.scrollHeight;
  }
  function line(l) {
    return h("div", { class: l.level }, `${new Date(l.time * 1000).toLocaleTimeString()} ${l.level.padEnd(7)} ${l.logger ? l.logger + ": " : ""}${l.message}`);
  }
  level.addEventListener("change", show);
  try { lines.push(...await api("GET", "/logs?level=DEBUG")); } catch (error) { box.replaceChildren(notice("error", error.message)); }
  show();
  const stop = onLive("log", (items) => {
    const known = lines.length ? lines[lines.length - 1].id : 0;
    lines.push(...items.filter((i) => i.id > known));
    if (lines.length > 2000) lines.splice(0, lines.length - 2000);
    show();
  });

  const scripts = await api("GET", "/scripts").catch(() => []);
  for (const s of scripts) scriptSelect.append(h("option", { value: s.key }, `${s.key} (${s.script})`));
  async function showScript() {
    if (!scriptSelect.value) { scriptBox.replaceChildren(); return; }
    const records = await api("GET", `/scripts/${encodeURIComponent(scriptSelect.value)}/log`);
    scriptBox.replaceChildren(...(records.length ? records.map(line) : [h("div", { class: "muted" }, "Nothing logged yet.")]));
  }
  scriptSelect.addEventListener("change", showScript);
  const timer = setInterval(showScript, 2000);
  return () => { stop(); clearInterval(timer); };
}
