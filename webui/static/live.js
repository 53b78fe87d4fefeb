// One WebSocket for the whole page: values and log lines pushed by the gateway.

const listeners = { values: new Set(), log: new Set() };
let socket = null;
let retry = 1000;
let stopped = false;

export function onLive(type, listener) {
  listeners[type].add(listener);
  connect();
  return () => listeners[type].delete(listener);
}

function connect() {
  if (socket) return;
  stopped = false;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.addEventListener("open", () => { retry = 1000; });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    for (const listener of listeners[message.type] || []) listener(message.items);
  });
  socket.addEventListener("close", () => {
    socket = null;
    if (!stopped) setTimeout(connect, retry);
    retry = Math.min(retry * 2, 15000);
  });
}

export function closeLive() {
  stopped = true;
  if (socket) { const s = socket; socket = null; s.close(); }
}
