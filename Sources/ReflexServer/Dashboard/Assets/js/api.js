// The HTTP API as the page uses it: the operator token from sessionStorage, sent as
// `Authorization: Bearer`; JSON in and out; a 404 for a whole feature (automation or detection not
// enabled on this node) becomes { missing: true } so that every screen can degrade instead of break.

const TOKEN_KEY = "reflex.token";
const ROLES = ["viewer", "operator", "admin"];

export const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  name: null,
  role: null,
};

export function setToken(token) {
  session.token = token;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Whether the signed-in token's role includes `role` (viewer < operator < admin). */
export function can(role) {
  return session.role !== null && ROLES.indexOf(session.role) >= ROLES.indexOf(role);
}

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API; resolves to the parsed JSON body, rejects with an APIError. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, signal, cache: "no-store" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new APIError(0, "network", `cannot reach the Reflex node (${err.message})`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = (json && json.error) || {};
    const apiError = new APIError(response.status, error.code || String(response.status),
      error.message || `${method} ${path}: HTTP ${response.status}`);
    if (response.status === 401 && onUnauthorized) onUnauthorized(apiError);
    throw apiError;
  }
  return json;
}

/** Like api(), but a 404 resolves to { missing: true } (the feature is not there yet). */
export async function optional(path, options) {
  try {
    return await api(path, options);
  } catch (err) {
    if (err instanceof APIError && err.status === 404) return { missing: true, message: err.message };
    throw err;
  }
}

let onUnauthorized = null;
/** Called when any request answers 401 (token revoked): the app signs out. */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** Checks the token and learns its name and role. */
export async function signIn(token) {
  setToken(token);
  try {
    const who = await api("/api/v1/whoami");
    session.name = who.name;
    session.role = who.role;
    return who;
  } catch (err) {
    setToken(null);
    throw err;
  }
}

export function signOut() {
  setToken(null);
  session.name = null;
  session.role = null;
}
