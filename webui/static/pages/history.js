// History: one or more measures charted over a window (presets, drag to pan, wheel or buttons to
// zoom), each as its average line inside its min-max band, one y axis per unit; hovering shows
// each series' value with its unit; a window that ends now follows the live data. CSV and statistics.

import { api } from "../api.js";
import { formatTime, gatewayZone, h, notice } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#1f6feb", "#d1495b", "#2e7d32", "#b26a00", "#7b3fbf", "#00838f"];
const PRESETS = [["15 min", 900], ["1 h", 3600], ["6 h", 21600], ["24 h", 86400], ["7 days", 604800]];
const W = 1100, H = 380, AXIS = 62, PAD = { r: 24, t: 28, b: 40 };
const FOLLOW_EVERY = 5000;  // ms between redraws of a window that ends now

function svg(tag, attributes = {}) {
  const element = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, String(v));
  return element;
}

export async function render(container) {
  const picker = h("div", { class: "toolbar", "data-picker": "history" });
  const chartBox = h("div", { class: "card", "data-chart": "history" });
  const message = h("div");
  const stats = h("div");
  const downloads = h("div", { class: "toolbar" });
  // live: the window ends now and follows the clock; panning back leaves live until panned to now
  const state = { end: Date.now() / 1000, span: 3600, chosen: new Set(), live: true, hoverX: null };
  container.append(h("h1", {}, "History"), picker,
    h("div", { class: "toolbar" }, ...PRESETS.map(([label, span]) => h("button", { type: "button", onclick: () => { state.span = span; state.live = true; draw(); } }, label)),
      h("button", { type: "button", onclick: () => zoom(0.5), "data-action": "zoom-in" }, "Zoom in"),
      h("button", { type: "button", onclick: () => zoom(2), "data-action": "zoom-out" }, "Zoom out"),
      h("button", { type: "button", onclick: () => pan(-0.5) }, "◀ Earlier"), h("button", { type: "button", onclick: () => pan(0.5) }, "Later ▶")),
    message, chartBox, downloads, h("h2", {}, "Statistics"), stats);

  let available = [];
  try { available = await api("GET", "/history/measures"); } catch (error) { message.replaceChildren(notice("error", error.message)); }
  if (!available.length) {
    message.replaceChildren(notice("", "No history yet. Set history: true on a group (Groups page); its measures are recorded on every upload."));
    return;
  }
  const units = new Map(available.map((m) => [`${m.controller}/${m.measure}`, m.unit || ""]));
  // the first window holds the data: the last hour, or less when the recording is younger
  const firsts = available.map((m) => m.first).filter(Boolean);
  if (firsts.length) state.span = Math.min(3600, Math.max(60, (Date.now() / 1000 - Math.min(...firsts)) * 1.1));
  available.forEach((m, i) => {
    const key = `${m.controller}/${m.measure}`;
    const box = h("input", { type: "checkbox", name: "measure", value: key, checked: i === 0 });
    if (i === 0) state.chosen.add(key);
    box.addEventListener("change", () => { if (box.checked) state.chosen.add(key); else state.chosen.delete(key); draw(); });
    picker.append(h("label", { class: "check" }, box, key));
  });

  function zoom(factor) {
    const middle = state.end - state.span / 2;
    state.span = Math.min(400 * 86400, Math.max(60, state.span * factor));
    if (!state.live) state.end = middle + state.span / 2;
    draw();
  }
  function pan(fraction) {
    state.end += state.span * fraction;
    state.live = state.end >= Date.now() / 1000;
    draw();
  }

  let drawing = 0;
  async function draw() {
    const ticket = ++drawing;
    if (state.live) state.end = Date.now() / 1000;
    const start = state.end - state.span;
    const keys = [...state.chosen];
    let results;
    try {
      results = await Promise.all(keys.map((key) => {
        const [controller, measure] = key.split("/");
        const q = new URLSearchParams({ controller, measure, start, end: state.end, points: 550 });
        return api("GET", `/history?${q}`);
      }));
    } catch (error) { message.replaceChildren(notice("error", error.message)); return; }
    if (ticket !== drawing) return;
    message.replaceChildren();
    chartBox.replaceChildren(chart(results, start, state.end));
    downloads.replaceChildren(...keys.map((key) => {
      const [controller, measure] = key.split("/");
      const q = new URLSearchParams({ controller, measure, start, end: state.end });
      return h("a", { href: `/api/v1/history/export.csv?${q}`, download: "" }, `CSV of ${key}`);
    }));
    stats.replaceChildren(h("table", { "data-table": "statistics" },
      h("tr", {}, ["Measure", "Window", "avg", "min", "max", "count"].map((t) => h("th", {}, t))),
      ...(await Promise.all(keys.map(async (key) => {
        const [controller, measure] = key.split("/");
        const s = await api("GET", `/statistics?${new URLSearchParams({ controller, measure })}`);
        return Object.entries(s).map(([window, v]) => h("tr", {}, h("td", {}, key), h("td", {}, window),
          ...["avg", "min", "max"].map((k) => h("td", { class: "num" }, v[k] === null ? "—" : Number(v[k]).toPrecision(6))),
          h("td", { class: "num" }, v.count)));
      }))).flat()));
  }

  function chart(results, start, end) {
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": "history chart" });
    const drawn = results.filter((r) => r.buckets.length);
    if (!drawn.length) {
      const text = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#6b7280" });
      text.textContent = "No samples in this window.";
      root.append(text);
      return root;
    }
    // one axis per unit (a series without a unit has its own), left of the plot
    const axes = [];
    for (const result of drawn) {
      const unit = units.get(`${result.controller}/${result.measure}`);
      const name = unit || `${result.controller}/${result.measure}`;
      let axis = axes.find((a) => a.name === name);
      if (!axis) axes.push(axis = { name, unit, low: Infinity, high: -Infinity });
      axis.low = Math.min(axis.low, ...result.buckets.map((b) => b[1]));
      axis.high = Math.max(axis.high, ...result.buckets.map((b) => b[2]));
      result.axis = axis;
    }
    const left = AXIS * axes.length;
    const x = (t) => left + ((t - start) / (end - start)) * (W - left - PAD.r);
    axes.forEach((axis, index) => {
      if (axis.low === axis.high) { axis.low -= 1; axis.high += 1; }
      axis.y = (v) => H - PAD.b - ((v - axis.low) / (axis.high - axis.low)) * (H - PAD.t - PAD.b);
      const at = left - index * AXIS;
      root.append(svg("line", { x1: at, x2: at, y1: PAD.t, y2: H - PAD.b, stroke: "#9ca3af" }));
      const title = svg("text", { x: at - 4, y: PAD.t - 10, "text-anchor": "end", "font-size": 11, fill: "#374151",
        "data-axis": axis.name });
      title.textContent = axis.unit || axis.name.split("/").pop();
      root.append(title);
      for (let i = 0; i <= 4; i++) {
        const v = axis.low + ((axis.high - axis.low) * i) / 4;
        if (index === 0) root.append(svg("line", { x1: left, x2: W - PAD.r, y1: axis.y(v), y2: axis.y(v), stroke: "#e5e7eb" }));
        const label = svg("text", { x: at - 5, y: axis.y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#6b7280" });
        label.textContent = Number(v.toPrecision(4)).toString();
        root.append(label);
      }
    });
    for (let i = 0; i <= 5; i++) {  // the first and last time labels inside the chart, not cut at its edges
      const t = start + ((end - start) * i) / 5;
      const label = svg("text", { x: x(t), y: H - 14, "font-size": 11, fill: "#6b7280",
        "text-anchor": i === 0 ? "start" : i === 5 ? "end" : "middle" });
      label.textContent = end - start > 86400 ? formatTime(t).slice(5, 16) : formatTime(t, { withDate: false });
      root.append(label);
    }
    const zone = svg("text", { x: W - PAD.r, y: H - 1, "text-anchor": "end", "font-size": 10, fill: "#9ca3af" });
    const [firstDay, lastDay] = [formatTime(start).slice(0, 10), formatTime(end).slice(0, 10)];
    zone.textContent = `${firstDay === lastDay ? firstDay : `${firstDay} … ${lastDay}`}, ${gatewayZone()}`;
    root.append(zone);
    drawn.forEach((result, i) => {
      const color = COLORS[results.indexOf(result) % COLORS.length];
      const b = result.buckets, y = result.axis.y;
      const mid = (bucket) => x(bucket[0] + result.width / 2);
      const band = b.map((k) => `${mid(k)},${y(k[2])}`).concat([...b].reverse().map((k) => `${mid(k)},${y(k[1])}`)).join(" ");
      root.append(svg("polygon", { points: band, fill: color, "fill-opacity": 0.15, stroke: "none" }));
      root.append(svg("polyline", { points: b.map((k) => `${mid(k)},${y(k[3])}`).join(" "), fill: "none", stroke: color, "stroke-width": 1.5, "data-series": `${result.controller}/${result.measure}` }));
      const legend = svg("text", { x: left + 8 + i * 200, y: PAD.t + 12, fill: color, "font-size": 12 });
      const unit = units.get(`${result.controller}/${result.measure}`);
      legend.textContent = `${result.controller}/${result.measure}${unit ? ` (${unit})` : ""}`;
      root.append(legend);
    });
    // hover: a line at the pointer's time and each series' value there, with its unit
    const cursor = svg("line", { y1: PAD.t, y2: H - PAD.b, stroke: "#6b7280", "stroke-dasharray": "3,3", visibility: "hidden" });
    const tip = svg("g", { visibility: "hidden", "data-hover": "history" });
    const tipBox = svg("rect", { fill: "#ffffff", stroke: "#d1d5db", rx: 4 });
    tip.append(tipBox);
    root.append(cursor, tip);
    function showAt(px) {
      if (px < left || px > W - PAD.r) { cursor.setAttribute("visibility", "hidden"); tip.setAttribute("visibility", "hidden"); return; }
      const t = start + ((px - left) / (W - left - PAD.r)) * (end - start);
      const lines = [formatTime(t)];
      for (const result of drawn) {
        const nearest = result.buckets.reduce((best, k) => (Math.abs(k[0] + result.width / 2 - t) < Math.abs(best[0] + result.width / 2 - t) ? k : best));
        const unit = units.get(`${result.controller}/${result.measure}`);
        const near = Math.abs(nearest[0] + result.width / 2 - t) <= Math.max(result.width, (end - start) / 50);
        lines.push(`${result.controller}/${result.measure}: ` +
          (near ? `${Number(nearest[3].toPrecision(6))}${unit ? " " + unit : ""}` : "no sample here"));
      }
      cursor.setAttribute("x1", px); cursor.setAttribute("x2", px); cursor.setAttribute("visibility", "visible");
      for (const old of [...tip.querySelectorAll("text")]) old.remove();
      const width = Math.max(...lines.map((l) => l.length)) * 6.8 + 12;
      const tipX = px + width + 8 > W ? px - width - 8 : px + 8;
      lines.forEach((line, i) => {
        const text = svg("text", { x: tipX + 6, y: PAD.t + 34 + i * 15, "font-size": 12, fill: i ? "#111827" : "#6b7280" });
        text.textContent = line;
        tip.append(text);
      });
      Object.entries({ x: tipX, y: PAD.t + 20, width, height: 10 + lines.length * 15 }).forEach(([k, v]) => tipBox.setAttribute(k, v));
      tip.setAttribute("visibility", "visible");
    }
    root.addEventListener("mousemove", (e) => {
      const box = root.getBoundingClientRect();
      state.hoverX = ((e.clientX - box.left) / box.width) * W;
      showAt(state.hoverX);
    });
    root.addEventListener("mouseleave", () => {
      state.hoverX = null;
      cursor.setAttribute("visibility", "hidden");
      tip.setAttribute("visibility", "hidden");
    });
    if (state.hoverX !== null) showAt(state.hoverX);  // a live redraw keeps what the pointer shows
    let dragFrom = null;
    root.addEventListener("mousedown", (e) => { dragFrom = e.clientX; });
    root.addEventListener("mouseup", (e) => {
      if (dragFrom === null) return;
      const moved = (dragFrom - e.clientX) / root.getBoundingClientRect().width;
      dragFrom = null;
      if (Math.abs(moved) > 0.01) pan(moved);
    });
    root.addEventListener("wheel", (e) => { e.preventDefault(); zoom(e.deltaY < 0 ? 0.8 : 1.25); }, { passive: false });
    return root;
  }

  await draw();
  const follow = setInterval(() => { if (state.live) draw(); }, FOLLOW_EVERY);  // a live window moves with the clock
  return () => clearInterval(follow);
}
