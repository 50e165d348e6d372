// UnionEyes admin dashboard (docs/dashboard.md), served at /admin/dashboard.js: the entry
// module. Signing in, opening the dashboard, the day picker and the page's buttons.
//
// Signs in with a token typed into the page (kept in sessionStorage, sent as a bearer header,
// never in a URL) or with the browser's own session cookie (an organization admin, who sees
// their organization only), then reads /api/health and the /api/admin/analytics JSON API and
// draws every panel with DOM calls: API data (routes, tenant names) only ever becomes text.
// Every request goes through the CSRF helper (api.js), so a state-changing call would carry
// the token; the page makes none (it only reads). Every refresh and day change first asks
// GET /api/me alone (`stillSignedIn`) and fans out to the panels' requests only when it
// answers 200: a credential that expired meanwhile costs one 401, not one per panel.
//
// The other modules: dom.js (building elements), state.js (the shared state), api.js
// (requests), signin.js (kept credentials, back to the form), health.js, day.js (one day's
// figures), tables.js, history.js (loading the history), chart.js (drawing it), format.js.

import * as fmt from "/admin/format.js";
import { api, describe, request } from "/admin/api.js";
import { drawHistory, onDayPicked } from "/admin/chart.js";
import { loadDay, setDayStatus } from "/admin/day.js";
import { $, show } from "/admin/dom.js";
import { loadHealth } from "/admin/health.js";
import { loadHistory } from "/admin/history.js";
import { loadAuth, saveAuth, toSignIn, typedToken } from "/admin/signin.js";
import { ANALYTICS, RETENTION, inRange, isPlatform, oldest, state } from "/admin/state.js";
import { loadOrgNames } from "/admin/tables.js";

// ---------------------------------------------------------------------------------------------
// Sign-in.

async function signIn(auth) {
  state.auth = auth;
  const button = $("token-submit");
  button.disabled = true;
  $("use-session").disabled = true;
  let me;
  try {
    me = await api("/api/me");
  } catch (e) {
    toSignIn(e.status === 401 ? notAccepted(auth, e.problem) : e.message);
    return;
  } finally {
    button.disabled = false;
    $("use-session").disabled = false;
  }
  const refused = refusal(me);
  if (refused) {
    toSignIn(refused);
    return;
  }
  state.me = me;
  saveAuth(auth);
  await openDashboard();
}

/**
 * A refused sign-in said plainly. A typed token is either the admin token or a session token
 * (JWT), so the service's own code (`token_malformed` for a mistyped admin token) only goes in
 * parentheses; an expired session says so.
 */
function notAccepted(auth, problem) {
  const code = problem?.code ? ` (401, ${problem.code})` : " (401)";
  if (auth.mode !== "token") return `No signed-in session was found on this site.${code}`;
  if (problem?.code === "token_expired") {
    return `The session token has expired; sign in with a fresh one.${code}`;
  }
  return `The token was not accepted: it is neither the admin token nor a valid session token.${code}`;
}

/** Why this /api/me answer may not use the dashboard, or null. */
function refusal(me) {
  if (me?.kind === "platform_admin") return null;
  if (me?.kind !== "session") return "The service did not say who is signed in.";
  if (me.role === "admin" && me.organizationId) return null;
  return me.organizationId
    ? "Analytics need the organization admin role; this session is a member's."
    : "This session has no active organization.";
}

/**
 * Before a refresh or a day's load: one GET /api/me with the credentials, and true only when
 * it answers 200 for the same admin. A 401 (the token or session expired) goes back to the
 * sign-in form with the server's reason, forgetting the credentials; anything else (429 with
 * its Retry-After, 5xx, no answer) is said in the day's banner and nothing else is asked for,
 * so a dead credential is never sent once per panel.
 */
async function stillSignedIn() {
  let res;
  try {
    res = await request("/api/me");
  } catch (e) {
    if (state.me) setDayStatus("error", `Not refreshed: ${e.message}`);
    return false;
  }
  if (!state.me) return false; // signed out meanwhile
  if (res.status === 401) {
    toSignIn(`Signed out: ${describe(res.status, res.body)}`);
    return false;
  }
  if (res.status !== 200) {
    const wait =
      res.status === 429 && res.retryAfter !== null
        ? `; try again in ${res.retryAfter} s (Retry-After)`
        : "";
    setDayStatus("error", `Not refreshed${wait}. ${describe(res.status, res.body)}`);
    return false;
  }
  const me = res.body;
  if (me?.kind !== state.me.kind || (me.organizationId ?? null) !== (state.me.organizationId ?? null)) {
    toSignIn("Signed out: the signed-in account or organization changed; sign in again.");
    return false;
  }
  const refused = refusal(me);
  if (refused) {
    toSignIn(`Signed out: ${refused}`);
    return false;
  }
  state.me = me;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The dashboard.

async function openDashboard() {
  $("token").value = "";
  show($("signin"), false);
  show($("boot"), false);
  show($("dashboard"));
  show($("whoami"));
  $("whoami-label").textContent = isPlatform()
    ? "Platform admin"
    : `Organization admin · ${state.me.externalOrganizationId || state.me.organizationId}`;
  $("sign-out").textContent = state.auth.mode === "token" ? "Sign out" : "Leave";
  for (const section of document.querySelectorAll("[data-scope]")) {
    section.hidden = section.dataset.scope !== (isPlatform() ? "platform" : "tenant");
  }
  show($("history-endpoint-label"), isPlatform());
  $("summary-title").textContent = isPlatform() ? "Summary" : "Your organization";

  loadHealth();
  if (isPlatform()) loadOrgNames();
  await learnToday();
  if (!state.me) return; // signed out meanwhile
  const wanted = dayFromHash();
  state.date = wanted && inRange(wanted) ? wanted : state.today;
  setupDatePicker();
  await Promise.all([loadDay(state.date), loadHistory()]);
}

/** The server's day: the answer to a request without a date names it. */
async function learnToday() {
  const path = isPlatform()
    ? `${ANALYTICS}/summary`
    : `${ANALYTICS}/tenants/${encodeURIComponent(state.me.organizationId)}`;
  try {
    const body = await api(path);
    if (fmt.isDay(body?.date)) {
      state.today = body.date;
      return;
    }
  } catch (e) {
    if (e.status === 401) {
      toSignIn(`Signed out: ${e.message}`);
      return;
    }
    // Shown by the panels when they fail too; the browser's clock stands in.
  }
  state.today = fmt.dayOf(new Date());
}

// ---------------------------------------------------------------------------------------------
// The day shown.

function dayFromHash() {
  const m = /^#date=(\d{4}-\d{2}-\d{2})$/.exec(window.location.hash);
  return m ? m[1] : null;
}

function setupDatePicker() {
  const input = $("date");
  input.min = oldest();
  input.max = state.today;
  input.value = state.date;
  $("range").textContent = `Kept: ${oldest()} to ${state.today} (${RETENTION} days after each day)`;
  updateDayButtons();
}

function updateDayButtons() {
  $("prev-day").disabled = state.date <= oldest();
  $("next-day").disabled = state.date >= state.today;
  $("today").disabled = state.date === state.today;
}

/** The day a `selectDate` is busy with, if any. */
let selecting = null;

async function selectDate(day) {
  // The same day picked again while it is being selected (a date input can fire `change`
  // twice): one load, not a second one that would overwrite the first's answer with "Loading".
  if (day === selecting) return;
  selecting = day;
  try {
    await showDate(day);
  } finally {
    selecting = null;
  }
}

async function showDate(day) {
  if (!inRange(day)) {
    setDayStatus("error", `Pick a day from ${oldest()} to ${state.today} (the retention window).`);
    $("date").value = state.date;
    return;
  }
  if (!(await stillSignedIn())) {
    $("date").value = state.date; // the day shown stays
    return;
  }
  state.date = day;
  $("date").value = day;
  window.history.replaceState(null, "", `#date=${day}`);
  updateDayButtons();
  if (state.history) drawHistory();
  await loadDay(day);
}

// ---------------------------------------------------------------------------------------------
// Wiring.

async function refresh() {
  if (!(await stillSignedIn())) return;
  loadHealth();
  await Promise.all([loadDay(state.date), loadHistory()]);
}

function init() {
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const typed = typedToken($("token").value);
    if (typed.error) {
      toSignIn(typed.error);
      return;
    }
    signIn({ mode: "token", token: typed.token });
  });
  $("use-session").addEventListener("click", () => signIn({ mode: "session" }));
  $("sign-out").addEventListener("click", () => toSignIn(""));
  $("date").addEventListener("change", (e) => selectDate(e.target.value));
  $("prev-day").addEventListener("click", () => selectDate(fmt.addDays(state.date, -1)));
  $("next-day").addEventListener("click", () => selectDate(fmt.addDays(state.date, 1)));
  $("today").addEventListener("click", () => selectDate(state.today));
  $("refresh").addEventListener("click", () => refresh());
  $("history-metric").addEventListener("change", () => drawHistory());
  $("history-endpoint").addEventListener("change", () => loadHistory());
  onDayPicked((day) => selectDate(day));

  const saved = loadAuth();
  if (saved) signIn(saved);
  else toSignIn("");
}

init();
