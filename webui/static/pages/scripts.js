// Scripts: the script files with an editor (line numbers), upload, check, test run against the
// current values (nothing is sent), save; the configured scripts and their state.

import { api } from "../api.js";
import { h, notice, showFailure } from "../ui.js";

export async function render(container) {
  const fileSelect = h("select", { name: "file" });
  const name = h("input", { name: "filename", placeholder: "upload.py", size: 18 });
  const functionName = h("input", { name: "function", placeholder: "main", size: 14 });
  const group = h("select", { name: "group" });
  const testWith = h("select", { name: "test-with" },
    h("option", { value: "group" }, "a group's current values"), h("option", { value: "alarm" }, "an alarm raised now"),
    h("option", { value: "message" }, "a cloud message (download function)"));
  const alarm = h("select", { name: "alarm" });
  const topic = h("input", { name: "topic", placeholder: "cmd/setpoint", size: 18 });
  const payload = h("input", { name: "payload", placeholder: '{"SP1": 12}', size: 24 });
  const groupLabel = h("label", {}, "Group", group);
  const alarmLabel = h("label", { hidden: true }, "Alarm", alarm);
  const messageLabels = [h("label", { hidden: true }, "Topic", topic), h("label", { hidden: true }, "Payload", payload)];
  testWith.addEventListener("change", () => {
    groupLabel.hidden = testWith.value !== "group";
    alarmLabel.hidden = testWith.value !== "alarm";
    messageLabels.forEach((label) => { label.hidden = testWith.value !== "message"; });
  });
  const upload = h("input", { type: "file", name: "upload", accept: ".py,text/x-python" });
  const gutter = h("div", { class: "gutter" });
  const text = h("textarea", { name: "source", spellcheck: "false", wrap: "off" });
  const output = h("div", { "data-output": "script" });
  const configured = h("div");
  container.append(h("h1", {}, "Scripts"),
    h("div", { class: "toolbar" }, h("label", {}, "File", fileSelect), h("label", {}, "Save as", name),
      h("label", {}, "Function", functionName)),
    h("div", { class: "toolbar" }, h("label", {}, "Test run with", testWith), groupLabel, alarmLabel, ...messageLabels),
    h("div", { class: "editor" }, gutter, text),
    h("div", { class: "toolbar" },
      h("button", { type: "button", onclick: check, "data-action": "check" }, "Check"),
      h("button", { type: "button", onclick: testRun, "data-action": "test" }, "Test run"),
      h("button", { type: "button", class: "primary", onclick: save, "data-action": "save" }, "Save"),
      h("label", {}, "Upload a .py file", upload)),
    output, h("h2", {}, "Scripts in the configuration"), configured);

  let marked = new Set();
  function numbers() {
    const count = text.value.split("\n").length;
    gutter.replaceChildren(...Array.from({ length: count }, (_, i) =>
      h("div", { class: marked.has(i + 1) ? "marked" : null }, String(i + 1))));
    gutter.scrollTop = text.scrollTop;
  }
  text.addEventListener("input", () => { marked = new Set(); numbers(); });
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Tab") { event.preventDefault(); text.setRangeText("    ", text.selectionStart, text.selectionEnd, "end"); numbers(); }
  });

  function mark(problems) {
    marked = new Set(problems.map((p) => /line (\d+)/.exec(p)).filter(Boolean).map((m) => Number(m[1])));
    numbers();
  }

  async function loadFiles(selected) {
    const files = await api("GET", "/scripts/files");
    fileSelect.replaceChildren(h("option", { value: "" }, "— new file —"),
      ...files.map((f) => h("option", { value: f.name, selected: f.name === selected }, f.name)));
  }
  fileSelect.addEventListener("change", async () => {
    if (!fileSelect.value) { text.value = ""; name.value = ""; numbers(); return; }
    const file = await api("GET", `/scripts/files/${encodeURIComponent(fileSelect.value)}`);
    text.value = file.source; name.value = file.name; output.replaceChildren(); mark([]);
    useRuleOf(file.name);
  });

  // A script a rule runs opens with that rule's function, and the test run set up as the rule calls it
  function useRuleOf(file) {
    const users = rules.filter((r) => r.script === `scripts/${file}`);
    if (!users.length) return;
    const [rule] = users;
    functionName.value = rule.function || "main";
    if (rule.kind === "subscribe" || rule.mode === "message") {
      testWith.value = "message";
      topic.value = rule.topic || rule.trigger_topic || "";
    } else if (rule.kind === "publish" && rule.source === "alarm") {
      testWith.value = "alarm";
    } else if (rule.kind === "publish" && rule.groups?.length) {
      testWith.value = "group";
      group.value = rule.groups[0];
    }
    testWith.dispatchEvent(new Event("change"));
    output.replaceChildren(notice("", `Used by ${users.map((r) => `${r.kind} rule '${r.name}' (function ${r.function || "main"})`).join(", ")}: ` +
      "the test run calls it as that rule does."));
  }
  upload.addEventListener("change", async () => {
    const file = upload.files[0];
    if (!file) return;
    const data = new FormData();
    data.append("file", file);
    try {
      const answer = await api("POST", "/scripts/upload", data);
      output.replaceChildren(notice("ok", `Uploaded ${answer.name}.`));
      await loadFiles(answer.name);
      text.value = await file.text(); name.value = answer.name; mark([]);
    } catch (error) {
      text.value = await file.text(); name.value = file.name; showProblems(error);
    }
  });

  function showProblems(error) {
    const problems = (error.body && error.body.problems) || [];
    const lines = problems.map((p) => (typeof p === "string" ? p : `${p.path}: ${p.message}`));
    output.replaceChildren(notice("error", error.message, lines));
    mark(lines);
  }

  async function check() {
    const answer = await api("POST", "/scripts/check", { source: text.value, function: functionName.value.trim() || null });
    if (answer.problems.length) { output.replaceChildren(notice("error", "The script has problems:", answer.problems)); mark(answer.problems); }
    else { output.replaceChildren(notice("ok", "No problems: the script compiles under the sandbox policy.")); mark([]); }
  }

  async function testRun() {
    if (!functionName.value.trim()) { output.replaceChildren(notice("error", "Name the function to run.")); return; }
    try {
      const body = { source: text.value, function: functionName.value.trim() };
      if (testWith.value === "message") Object.assign(body, { topic: topic.value.trim(), payload: payload.value });
      else if (testWith.value === "alarm") body.alarm = alarm.value;
      else body.group = group.value || null;
      const answer = await api("POST", "/scripts/test", body);
      const said = answer.output.length
        ? [h("h3", {}, "What the script printed and logged"), h("pre", { class: "output", "data-output": "printed" }, answer.output.join("\n"))]
        : [h("p", { class: "muted" }, "The script printed and logged nothing.")];
      if (answer.error) {
        output.replaceChildren(notice("error", answer.error), ...said, h("h3", {}, "It was given"),
          h("pre", { class: "output" }, JSON.stringify(answer.data, null, 2)));
      } else {
        output.replaceChildren(notice("ok", "Test run (nothing was sent or written):"),
          h("pre", { class: "output", "data-output": "test" }, answer.lines.map(formatted).join("\n")), ...said);
      }
      mark(answer.error ? [answer.error] : []);
    } catch (error) { showProblems(error); }
  }

  // "publish ... -> topic qos 1: {json}": the JSON shown indented
  function formatted(line) {
    const at = line.indexOf(": {") >= 0 ? line.indexOf(": {") : line.indexOf(": [");
    if (at < 0) return line;
    try { return `${line.slice(0, at)}:\n${JSON.stringify(JSON.parse(line.slice(at + 2)), null, 2)}`; } catch { return line; }
  }

  async function save() {
    const file = name.value.trim();
    try {
      await api("PUT", `/scripts/files/${encodeURIComponent(file)}`, { source: text.value });
      output.replaceChildren(notice("ok", `Saved ${file}; the gateway restarted with it.`));
      mark([]);
      await loadFiles(file);
      loadConfigured();
    } catch (error) { showProblems(error); }
  }

  async function loadConfigured() {
    try {
      const scripts = await api("GET", "/scripts");
      configured.replaceChildren(scripts.length ? h("table", { "data-table": "configured-scripts" },
        h("tr", {}, ["Rule", "Kind", "Script", "Function", "State"].map((t) => h("th", {}, t))),
        scripts.map((s) => h("tr", {}, h("td", {}, s.rule), h("td", {}, s.kind), h("td", {}, s.script), h("td", {}, s.function),
          h("td", {}, s.faulted ? h("span", { class: "bad" }, s.faulted) : h("span", { class: "ok" }, "ok")))))
        : h("p", { class: "muted" }, "No rule runs a script."));
    } catch (error) { showFailure(configured, error); }
  }

  const config = await api("GET", "/config/groups");
  group.replaceChildren(...config.map((g) => h("option", { value: g.name }, g.name)));
  const alarms = await api("GET", "/config/alarms");
  alarm.replaceChildren(...alarms.map((a) => h("option", { value: a.name }, a.name)));
  const [publish, subscribe, functions] = await Promise.all(["/config/publish", "/config/subscribe", "/config/functions"]
    .map((path) => api("GET", path).catch(() => [])));
  const rules = [...publish.map((r) => ({ ...r, kind: "publish" })), ...subscribe.map((r) => ({ ...r, kind: "subscribe" })),
    ...functions.map((r) => ({ ...r, kind: "function" }))];
  await loadFiles("");
  numbers();
  await loadConfigured();
}
