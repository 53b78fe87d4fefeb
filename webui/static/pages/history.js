// History: charts come with the local history store (groups with history: true).

import { h } from "../ui.js";

export async function render(container) {
  container.append(h("h1", {}, "History"),
    h("p", { class: "muted" }, "The local history store (groups with history: true, charts and CSV download) is not " +
      "part of this version yet. Live values are on the Measures page."));
}
