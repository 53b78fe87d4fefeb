// History: one or more measures charted over a window (presets, drag to pan, wheel or buttons to
// zoom), each as its average line inside its min-max band; CSV download and statistics.

import { api } from "../api.js";
import { h, notice } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#1f6feb", "#d1495b", "#2e7d32", "#b26a00", "#7b3fbf", "#00838f"];
const PRESETS = [["15 min", 900], ["1 h", 3600], ["6 h", 21600], ["24 h", 86400], ["7 days", 604800]];
const W = 1100, H = 360, PAD = { l: 64, r: 16, t: 12, b: 36 };

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
  const state = { end: Date.now() / 1000, span: 3600, chosen: new Set(), live: true };
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
    const all = results.flatMap((r) => r.buckets);
    if (!all.length) {
      const text = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#6b7280" });
      text.textContent = "No samples in this window.";
      root.append(text);
      return root;
    }
    let low = Math.min(...all.map((b) => b[1])), high = Math.max(...all.map((b) => b[2]));
    if (low === high) { low -= 1; high += 1; }
    const x = (t) => PAD.l + ((t - start) / (end - start)) * (W - PAD.l - PAD.r);
    const y = (v) => H - PAD.b - ((v - low) / (high - low)) * (H - PAD.t - PAD.b);
    for (let i = 0; i <= 4; i++) {
      const v = low + ((high - low) * i) / 4;
      root.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), stroke: "#e5e7eb" }));
      const label = svg("text", { x: PAD.l - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#6b7280" });
      label.textContent = Number(v.toPrecision(5)).toString();
      root.append(label);
    }
    for (let i = 0; i <= 5; i++) {
      const t = start + ((end - start) * i) / 5;
      const label = svg("text", { x: x(t), y: H - 12, "text-anchor": "middle", "font-size": 11, fill: "#6b7280" });
      const date = new Date(t * 1000);
      label.textContent = end - start > 86400 ? date.toLocaleDateString() + " " + date.toLocaleTimeString().slice(0, 5) : date.toLocaleTimeString();
      root.append(label);
    }
    results.forEach((result, i) => {
      const color = COLORS[i % COLORS.length];
      const b = result.buckets;
      if (!b.length) return;
      const mid = (bucket) => x(bucket[0] + result.width / 2);
      const band = b.map((k) => `${mid(k)},${y(k[2])}`).concat([...b].reverse().map((k) => `${mid(k)},${y(k[1])}`)).join(" ");
      root.append(svg("polygon", { points: band, fill: color, "fill-opacity": 0.15, stroke: "none" }));
      root.append(svg("polyline", { points: b.map((k) => `${mid(k)},${y(k[3])}`).join(" "), fill: "none", stroke: color, "stroke-width": 1.5, "data-series": `${result.controller}/${result.measure}` }));
      const legend = svg("text", { x: PAD.l + 8 + i * 180, y: PAD.t + 12, fill: color, "font-size": 12 });
      legend.textContent = `${result.controller}/${result.measure}`;
      root.append(legend);
    });
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
}
