// UnionEyes admin dashboard: the JSON API, served at /admin/api.js. GETs with the signed-in
// credentials (a bearer token with no cookie, or the session cookie with no header), every one
// through the CSRF helper; problems said plainly. The page makes no state-changing request.

import { csrfFetch } from "/static/csrf.js";
import { state } from "/admin/state.js";

export class ApiError extends Error {
  constructor(status, problem, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter; // seconds, from a 429's or 503's Retry-After
    // For a panel under the day's banner, which has the whole message.
    this.short =
      status === 0
        ? "Not loaded: the service did not answer."
        : `Not loaded: ${problem?.title || "HTTP error"} (${status}${problem?.code ? `, ${problem.code}` : ""}).`;
  }
}

/** Known problem codes, said plainly. */
const EXPLAIN = {
  analytics_unavailable:
    "Analytics storage (Redis) is not answering, so no figures can be read right now.",
  analytics_disabled:
    "Analytics is off on this instance (ANALYTICS_ENABLED=false or no REDIS_URL).",
  rate_limited: "Too many requests.",
  forbidden: "Your account may not read these figures.",
};

/** The problem said plainly; `retryAfter` (seconds) is said for a 429. */
export function describe(status, problem, retryAfter = null) {
  if (status === 0) return "The service did not answer (network error); is it running?";
  const wait =
    status === 429 && retryAfter !== null
      ? ` Retry-After: ${retryAfter} s (try again after that).`
      : "";
  if (!problem || typeof problem !== "object") return `The request failed with HTTP ${status}.${wait}`;
  const parts = [];
  if (problem.code && EXPLAIN[problem.code]) parts.push(EXPLAIN[problem.code]);
  const head = `${problem.title || "Error"} (${status}${problem.code ? `, ${problem.code}` : ""})`;
  parts.push(problem.detail ? `${head}: ${problem.detail}` : `${head}.`);
  if (problem.requestId) parts.push(`Request id ${problem.requestId}.`);
  return parts.join(" ") + wait;
}

/** A Retry-After header in seconds (a number of seconds or an HTTP date), or null. */
export function retryAfterSecs(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number.parseInt(value, 10);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

export async function readBody(res) {
  const type = res.headers.get("content-type") || "";
  if (!/json/.test(type)) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

/**
 * A GET with the signed-in credentials: {status, body, retryAfter}; throws ApiError(0) when
 * unreachable.
 */
export async function request(path) {
  const auth = state.auth;
  const headers = { accept: "application/json" };
  const init = { method: "GET", headers, cache: "no-store", redirect: "error" };
  if (auth && auth.mode === "token") {
    headers.authorization = `Bearer ${auth.token}`;
    init.credentials = "omit"; // the bearer token decides; no cookie rides along
  } else {
    init.credentials = "same-origin"; // the __session cookie
  }
  let res;
  try {
    res = await csrfFetch(path, init);
  } catch {
    throw new ApiError(0, null, describe(0, null));
  }
  const retryAfter = retryAfterSecs(res.headers.get("retry-after"));
  return { status: res.status, body: await readBody(res), retryAfter };
}

/** A GET whose answer must be 2xx; otherwise ApiError with the problem. */
export async function api(path) {
  const { status, body, retryAfter } = await request(path);
  if (status >= 200 && status < 300) return body;
  throw new ApiError(status, body, describe(status, body, retryAfter), retryAfter);
}
