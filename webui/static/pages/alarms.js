// Alarms: what is active now (since when, acknowledged by whom), the raise/acknowledge/clear
// history, and the rules (edited like other sections).

import { api } from "../api.js";
import { formatAgo, formatTime, formatValue, h, notice, timeCell } from "../ui.js";
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

  async function acknowledge(name) {
    try { await api("POST", `/alarms/${encodeURIComponent(name)}/acknowledge`); } catch (error) {
      active.prepend(notice("error", error.message));
      return;
    }
    refresh();
  }

  const STATES = { on: ["bad", "raised"], off: ["ok", "cleared"], ack: ["warn", "acknowledged"] };
  function table(items, withState) {
    return h("table", {},
      h("tr", {}, [withState ? "Time" : "Active since", "Alarm", "Level", "Measure", withState ? "Value" : "Value that raised it",
        withState ? "State" : "Content", withState ? "By" : "Acknowledged"].map((t) => h("th", {}, t))),
      items.map((a) => h("tr", { dataset: { alarm: a.name } }, timeCell(a.timestamp), h("td", {}, a.name),
        h("td", { class: a.level >= 4 ? "bad" : a.level >= 2 ? "warn" : "" }, `${a.level} ${LEVELS[a.level] || ""}`),
        h("td", {}, `${a.ctrlName}/${a.measureName}`),
        h("td", { class: "num" }, `${formatValue(withState ? a.value : a.alarm_value ?? a.value)}${a.unit ? " " + a.unit : ""}`),
        withState ? h("td", {}, h("span", { class: (STATES[a.current] || STATES.off)[0] }, (STATES[a.current] || STATES.off)[1]))
          : h("td", {}, a.alarm_content),
        withState ? h("td", {}, a.current === "ack" ? a.acknowledged_by || "" : "")
          : h("td", {}, a.acknowledged_by
            ? `${a.acknowledged_by}, ${formatTime(a.acknowledged_at)} (${formatAgo(a.acknowledged_at)})`
            : h("button", { type: "button", "data-action": "acknowledge", onclick: () => acknowledge(a.name) }, "Acknowledge")))));
  }

  await refresh();
  await renderSection(rules, "alarms");
  const timer = setInterval(refresh, 2000);
  return () => clearInterval(timer);
}
