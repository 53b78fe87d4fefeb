// Alarms: what is active now, the raise/clear history, and the rules (edited like other sections).

import { api } from "../api.js";
import { formatTime, formatValue, h, notice } from "../ui.js";
import { renderSection } from "./sections.js";

const LEVELS = { 1: "Reminder", 2: "Warning", 3: "Minor", 4: "Major", 5: "Critical" };

export async function render(container) {
  const active = h("div", { "data-alarms": "active" });
  const history = h("div", { "data-alarms": "history" });
  const rules = h("div", { "data-section": "alarms" });
  container.append(h("h1", {}, "Alarms"), h("h2", {}, "Active"), active, h("h2", {}, "History"), history, rules);

  async function refresh() {
    try {
      const [now, past] = await Promise.all([api("GET", "/alarms/active"), api("GET", "/alarms/history?limit=200")]);
      active.replaceChildren(now.length ? table(now, false) : h("p", { class: "muted" }, "No alarm is active."));
      history.replaceChildren(past.length ? table(past, true) : h("p", { class: "muted" }, "No alarm was raised yet."));
    } catch (error) { active.replaceChildren(notice("error", error.message)); }
  }

  function table(items, withState) {
    return h("table", {},
      h("tr", {}, ["Time", "Alarm", "Level", "Measure", "Value", withState ? "State" : "Content"].map((t) => h("th", {}, t))),
      items.map((a) => h("tr", { dataset: { alarm: a.name } }, h("td", {}, formatTime(a.timestamp)), h("td", {}, a.name),
        h("td", { class: a.level >= 4 ? "bad" : a.level >= 2 ? "warn" : "" }, `${a.level} ${LEVELS[a.level] || ""}`),
        h("td", {}, `${a.ctrlName}/${a.measureName}`), h("td", { class: "num" }, formatValue(a.value)),
        h("td", {}, withState ? (a.current === "on" ? h("span", { class: "bad" }, "raised") : h("span", { class: "ok" }, "cleared"))
          : a.alarm_content))));
  }

  await refresh();
  await renderSection(rules, "alarms");
  const timer = setInterval(refresh, 2000);
  return () => clearInterval(timer);
}
