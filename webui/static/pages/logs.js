// Logs: the gateway's log, live, filtered by level, source and text; paused to read, downloaded;
// and each script's own log. New lines never pull the view away from what the reader scrolled to.

import { api } from "../api.js";
import { onLive } from "../live.js";
import { formatTime, h, notice } from "../ui.js";

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"];
const KEPT = 5000;

export async function render(container) {
  const level = h("select", { name: "level" }, LEVELS.map((l) => h("option", { value: l, selected: l === "INFO" }, l)));
  const source = h("select", { name: "source" }, h("option", { value: "" }, "all sources"));
  const search = h("input", { type: "search", name: "search", placeholder: "Search the log" });
  const pause = h("button", { type: "button", "data-action": "pause" }, "Pause");
  const held = h("span", { class: "muted", "data-held": "" });
  const download = h("button", { type: "button", "data-action": "download" }, "Download");
  const box = h("div", { class: "log", "data-log": "gateway" });
  const scriptSelect = h("select", { name: "script" }, h("option", { value: "" }, "— choose a script —"));
  const scriptBox = h("div", { class: "log", "data-log": "script" });
  const lines = [];
  const sources = new Set();
  let paused = false, waiting = 0;
  container.append(h("h1", {}, "Logs"),
    h("div", { class: "toolbar" }, h("label", {}, "Level", level), h("label", {}, "Source", source), search, pause, held,
      download), box, h("h2", {}, "Script logs"), h("div", { class: "toolbar" }, scriptSelect), scriptBox);

  const rank = (l) => Math.max(0, LEVELS.indexOf(l === "CRITICAL" ? "ERROR" : l));
  const sourceOf = (l) => (l.logger || "").split(".").slice(0, 2).join(".");
  function chosen() {
    const floor = rank(level.value), from = source.value, text = search.value.trim().toLowerCase();
    return lines.filter((l) => rank(l.level) >= floor && (!from || sourceOf(l) === from)
      && (!text || `${l.logger} ${l.message}`.toLowerCase().includes(text)));
  }
  function text(l) {
    return `${formatTime(l.time)} ${l.level.padEnd(7)} ${l.logger ? l.logger + ": " : ""}${l.message}`;
  }
  function show() {
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const top = box.scrollTop;
    box.replaceChildren(...chosen().map((l) => h("div", { class: l.level }, text(l))));
    box.scrollTop = atBottom ? box.scrollHeight : top;  // follow the end only when the reader is there
  }
  function learnSources(items) {
    for (const l of items) {
      const name = sourceOf(l);
      if (name && !sources.has(name)) {
        sources.add(name);
        source.append(h("option", { value: name }, name));
      }
    }
  }
  for (const control of [level, source]) control.addEventListener("change", show);
  search.addEventListener("input", show);
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused) { waiting = 0; show(); }
    held.textContent = "";
  });
  download.addEventListener("click", () => {
    const blob = new Blob([chosen().map(text).join("\n") + "\n"], { type: "text/plain" });
    const link = h("a", { href: URL.createObjectURL(blob), download: "gateway-log.txt" });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });
  try { lines.push(...await api("GET", "/logs?level=DEBUG")); } catch (error) { box.replaceChildren(notice("error", error.message)); }
  learnSources(lines);
  show();
  box.scrollTop = box.scrollHeight;
  const stop = onLive("log", (items) => {
    const known = lines.length ? lines[lines.length - 1].id : 0;
    const fresh = items.filter((i) => i.id > known);
    lines.push(...fresh);
    if (lines.length > KEPT) lines.splice(0, lines.length - KEPT);
    learnSources(fresh);
    if (paused) {
      waiting += fresh.length;
      held.textContent = `${waiting} new line(s) held`;
    } else show();
  });

  const scripts = await api("GET", "/scripts").catch(() => []);
  for (const s of scripts) scriptSelect.append(h("option", { value: s.key }, `${s.key} (${s.script})`));
  async function showScript() {
    if (!scriptSelect.value) { scriptBox.replaceChildren(); return; }
    const records = await api("GET", `/scripts/${encodeURIComponent(scriptSelect.value)}/log`);
    scriptBox.replaceChildren(...(records.length ? records.map((l) => h("div", { class: l.level }, text(l)))
      : [h("div", { class: "muted" }, "Nothing logged yet.")]));
  }
  scriptSelect.addEventListener("change", showScript);
  const timer = setInterval(showScript, 2000);
  return () => { stop(); clearInterval(timer); };
}
