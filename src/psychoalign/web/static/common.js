// Shared by the pages: the participant's token and the JSON API (see web-api.md).
export const TOKEN_KEY = "psychoalign-token";

export function token() { return localStorage.getItem(TOKEN_KEY); }
export function setToken(value) { localStorage.setItem(TOKEN_KEY, value); }
export function clearToken() { localStorage.removeItem(TOKEN_KEY); }

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One request with the participant's token; retried after a 429 (Retry-After seconds).
export async function api(path, { method = "GET", body, raw = false } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    if (token()) headers.Authorization = `Bearer ${token()}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 429 && attempt < 5) {
      await sleep(1000 * Number(response.headers.get("Retry-After") || 1));
      continue;
    }
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
      throw new ApiError(response.status, detail);
    }
    return raw ? response : response.json();
  }
}

// Go to another page, keeping the landing URL's query string (recruitment parameters).
export function go(path) { window.location.assign(path + window.location.search); }
