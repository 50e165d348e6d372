// UnionEyes admin dashboard: the JSON API, served at /admin/api.js. GETs with the signed-in
// credentials (a bearer token with no cookie, or the session cookie with no header), every one
// through the CSRF helper; problems said plainly. The page makes no state-changing request.

import { csrfFetch } from "/static/csrf.js";
import { state } from "/admin/state.js";

export class ApiError extends Error {
  constructor(status, problem, message) {
    super(message);
    this.status = status;
    this.problem = problem;
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

export function describe(status, problem) {
  if (status === 0) return "The service did not answer (network error); is it running?";
  if (!problem || typeof problem !== "object") return `The request failed with HTTP ${status}.`;
  const parts = [];
  if (problem.code && EXPLAIN[problem.code]) parts.push(EXPLAIN[problem.code]);
  const head = `${problem.title || "Error"} (${status}${problem.code ? `, ${problem.code}` : ""})`;
  parts.push(problem.detail ? `${head}: ${problem.detail}` : `${head}.`);
  if (problem.requestId) parts.push(`Request id ${problem.requestId}.`);
  return parts.join(" ");
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

/** A GET with the signed-in credentials: {status, body}; throws ApiError(0) when unreachable. */
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
  return { status: res.status, body: await readBody(res) };
}

/** A GET whose answer must be 2xx; otherwise ApiError with the problem. */
export async function api(path) {
  const { status, body } = await request(path);
  if (status >= 200 && status < 300) return body;
  throw new ApiError(status, body, describe(status, body));
}
