// UnionEyes CSRF helper: a dependency-free ES module served at /static/csrf.js (docs/csrf.md).
//
//   import { csrfFetch, logout } from "/static/csrf.js";
//   const res = await csrfFetch("/api/members", {
//     method: "POST",
//     headers: { "content-type": "application/json" },
//     body: JSON.stringify({ firstName: "Ann", lastName: "Lee", email: "ann@local1.org" }),
//   });
//
// csrfFetch works like fetch. On unsafe methods (anything but GET, HEAD, OPTIONS) it sends the
// session's token in the x-csrf-token header: fetched from GET /api/csrf-token once per page
// (and again when the server says csrf_token_expired, then the request is retried once),
// refreshed from the x-csrf-token response header, and shared between tabs through the
// __Host-csrf-token cookie the server keeps up to date. Call logout() to end the session's
// tokens, reset() when the signed-in session changes without a page load.

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
const HEADER = "x-csrf-token";
const COOKIE = "__Host-csrf-token";
const TOKEN_PATH = "/api/csrf-token";
const LOGOUT_PATH = "/api/auth/logout";

function readCookie() {
  if (typeof document === "undefined" || !document.cookie) return null;
  for (const part of document.cookie.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === COOKIE) return part.slice(i + 1).trim() || null;
  }
  return null;
}

async function problemCode(res) {
  const type = res.headers.get("content-type") || "";
  if (res.status !== 403 || !type.startsWith("application/problem+json")) return null;
  try {
    return (await res.clone().json()).code || null;
  } catch {
    return null;
  }
}

/**
 * A client bound to one API base URL (default: this page's origin).
 * @param {{base?: string, fetch?: typeof fetch}} [options]
 */
export function createCsrfClient(options = {}) {
  const base = options.base || "";
  const doFetch = options.fetch || ((...args) => globalThis.fetch(...args));
  let token = null; // the last token this page saw
  let fetched = false; // fetched once on this page (a cookie may predate the session)
  let pending = null; // the token request in flight, shared by concurrent callers

  /** GET /api/csrf-token: the token, or the failed Response (e.g. 401 once signed out). */
  function fetchToken() {
    if (!pending) {
      pending = (async () => {
        const res = await doFetch(base + TOKEN_PATH, {
          credentials: "same-origin",
          cache: "no-store",
          headers: { accept: "application/json" },
        });
        if (!res.ok) return res;
        const body = await res.json();
        token = body.token;
        fetched = true;
        return token;
      })().finally(() => {
        pending = null;
      });
    }
    return pending;
  }

  /** The token to send now: the shared cookie's (the newest any tab got), else ours. */
  async function tokenOrFailure() {
    if (!fetched) {
      const got = await fetchToken();
      if (got instanceof Response) return got;
    }
    return readCookie() || token || fetchToken();
  }

  /** The token to send now (for clients other than fetch); throws when none can be had. */
  async function currentToken() {
    const got = await tokenOrFailure();
    if (got instanceof Response) throw new Error(`CSRF token request failed with ${got.status}`);
    return got;
  }

  function send(input, init, csrfToken) {
    const headers = new Headers(
      init.headers || (input instanceof Request ? input.headers : undefined),
    );
    if (csrfToken) headers.set(HEADER, csrfToken);
    return doFetch(input, { credentials: "same-origin", ...init, headers });
  }

  /** fetch, with the CSRF token on unsafe methods. When no token can be had (signed out),
   *  the token request's failed response (401) is returned instead. */
  async function csrfFetch(input, init = {}) {
    const method = String(init.method || (input instanceof Request ? input.method : "GET"));
    if (SAFE.has(method.toUpperCase())) return doFetch(input, init);
    const first = await tokenOrFailure();
    if (first instanceof Response) return first;
    let res = await send(input, init, first);
    const streamed = typeof ReadableStream !== "undefined" && init.body instanceof ReadableStream;
    if (!streamed && (await problemCode(res)) === "csrf_token_expired") {
      const fresh = await fetchToken();
      if (fresh instanceof Response) return fresh;
      res = await send(input, init, fresh);
    }
    const refreshed = res.headers.get(HEADER);
    if (refreshed) token = refreshed;
    return res;
  }

  /** POST /api/auth/logout: the server ends this session's tokens and expires the cookie. */
  async function logout() {
    const res = await csrfFetch(base + LOGOUT_PATH, { method: "POST" });
    reset();
    return res;
  }

  /** Forget the token (the signed-in session changed). */
  function reset() {
    token = null;
    fetched = false;
  }

  return { fetch: csrfFetch, token: currentToken, logout, reset };
}

const client = createCsrfClient();
export const csrfFetch = client.fetch;
export const csrfToken = client.token;
export const logout = client.logout;
export const reset = client.reset;
export default client;
