// The REST client: JSON in and out, the CSRF token on every change, errors as ApiFailure.

let csrf = null;

export function setCsrf(token) { csrf = token; }

export class ApiFailure extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
  // "path: message" lines of a refused request, for lists next to a form
  get problems() {
    const problems = this.body.problems || [];
    return problems.map((p) => (typeof p === "string" ? { path: "", message: p } : p));
  }
}

export async function api(method, path, body, options = {}) {
  const headers = {};
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (options.raw !== undefined) {
    headers["Content-Type"] = options.contentType;
    payload = options.raw;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(`/api/v1${path}`, { method, headers, body: payload, credentials: "same-origin" });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (response.status === 401 && !options.allow401) {
    window.dispatchEvent(new CustomEvent("logged-out"));
  }
  if (!response.ok) throw new ApiFailure(response.status, data);
  return data;
}
