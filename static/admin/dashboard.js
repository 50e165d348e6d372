// UnionEyes admin dashboard (docs/dashboard.md), served at /admin/dashboard.js.
//
// Signs in with a token typed into the page (kept in sessionStorage, sent as a bearer header,
// never in a URL) or with the browser's own session cookie (an organization admin, who sees
// their organization only), then reads /api/health and the /api/admin/analytics JSON API and
// draws every panel with DOM calls: API data (routes, tenant names) only ever becomes text.
// Every request goes through the CSRF helper, so a state-changing call would carry the token;
// the page makes none (it only reads).

import { csrfFetch } from "/static/csrf.js";
import * as fmt from "/admin/format.js";

const STORAGE_KEY = "unioneyes.admin.auth";
const ANALYTICS = "/api/admin/analytics";
const SLOW_LIMIT = 10;
const TENANT_LIMIT = 200;
/** Concurrent requests when an org admin's history is read day by day. */
const HISTORY_CONCURRENCY = 6;
const SVG_NS = "http://www.w3.org/2000/svg";

/** Days kept (ANALYTICS_RETENTION_DAYS), from the page's meta tag. */
const RETENTION = (() => {
  const meta = document.querySelector('meta[name="ue-retention-days"]');
  const n = Number.parseInt(meta ? meta.content : "", 10);
  return Number.isInteger(n) && n >= 1 && n <= 365 ? n : 30;
})();

const state = {
  auth: null, // {mode: "token", token} | {mode: "session"}
  me: null, // the /api/me answer
  today: null, // the server's UTC day
  date: null, // the day shown
  seq: 0, // the latest day load; older answers are dropped
  historySeq: 0,
  endpoints: [],
  endpointSort: { key: "count", dir: "desc" },
  tenants: [],
  tenantSort: { key: "count", dir: "desc" },
  orgNames: new Map(),
  history: null, // {points, metric}
};

// ---------------------------------------------------------------------------------------------
// DOM helpers: elements are built with createElement and text with textContent only.

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
};

/** An element: `el("td", {className: "num", data: {field: "count"}}, "12")`. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  applyProps(node, props);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function applyProps(node, props) {
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined) continue;
    if (k === "className") node.className = v;
    else if (k === "text") node.textContent = String(v);
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
    else if (k === "title") node.title = String(v);
    else if (k === "hidden") node.hidden = Boolean(v);
    else if (k === "type" || k === "scope" || k === "value" || k.startsWith("aria-")) {
      node.setAttribute(k, String(v));
    } else throw new Error(`unexpected property ${k}`);
  }
}

function show(node, on = true) {
  node.hidden = !on;
}

/** A panel's message line (errors, empty days). `kind`: "error" | "empty" | null (hide). */
function panelMessage(sectionId, kind, text) {
  const msg = $(sectionId).querySelector(".panel-msg");
  if (!msg) return;
  msg.textContent = text || "";
  msg.className = `panel-msg banner ${kind || ""}`;
  msg.hidden = !kind;
}

// ---------------------------------------------------------------------------------------------
// The API.

class ApiError extends Error {
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

function describe(status, problem) {
  if (status === 0) return "The service did not answer (network error); is it running?";
  if (!problem || typeof problem !== "object") return `The request failed with HTTP ${status}.`;
  const parts = [];
  if (problem.code && EXPLAIN[problem.code]) parts.push(EXPLAIN[problem.code]);
  const head = `${problem.title || "Error"} (${status}${problem.code ? `, ${problem.code}` : ""})`;
  parts.push(problem.detail ? `${head}: ${problem.detail}` : `${head}.`);
  if (problem.requestId) parts.push(`Request id ${problem.requestId}.`);
  return parts.join(" ");
}

async function readBody(res) {
  const type = res.headers.get("content-type") || "";
  if (!/json/.test(type)) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

/** A GET with the signed-in credentials: {status, body}; throws ApiError(0) when unreachable. */
async function request(path) {
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
async function api(path) {
  const { status, body } = await request(path);
  if (status >= 200 && status < 300) return body;
  throw new ApiError(status, body, describe(status, body));
}

/** A 401 anywhere means the credentials no longer work: back to the sign-in form. */
function signedOutBy(results) {
  const failure = results.find((r) => r.status === "rejected" && r.reason?.status === 401);
  if (!failure) return false;
  toSignIn(`Signed out: ${failure.reason.message}`);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Sign-in.

function loadAuth() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    if (saved && saved.mode === "token" && typeof saved.token === "string" && saved.token) {
      return { mode: "token", token: saved.token };
    }
    if (saved && saved.mode === "session") return { mode: "session" };
  } catch {
    // unreadable: sign in again
  }
  return null;
}

function saveAuth(auth) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(auth));
}

function toSignIn(message) {
  state.auth = null;
  state.me = null;
  state.seq += 1; // drop answers still in flight
  state.historySeq += 1;
  sessionStorage.removeItem(STORAGE_KEY);
  $("token").value = "";
  show($("dashboard"), false);
  show($("whoami"), false);
  show($("boot"), false);
  show($("signin"));
  const err = $("signin-error");
  err.textContent = message || "";
  show(err, Boolean(message));
  $("token").focus();
}

async function signIn(auth) {
  state.auth = auth;
  const button = $("token-submit");
  button.disabled = true;
  $("use-session").disabled = true;
  let me;
  try {
    me = await api("/api/me");
  } catch (e) {
    const how =
      auth.mode === "token"
        ? "The token was not accepted."
        : "No signed-in session was found on this site.";
    toSignIn(e.status === 401 ? `${how} ${e.message}` : e.message);
    return;
  } finally {
    button.disabled = false;
    $("use-session").disabled = false;
  }
  if (me.kind === "session" && (me.role !== "admin" || !me.organizationId)) {
    toSignIn(
      me.organizationId
        ? "Analytics need the organization admin role; this session is a member's."
        : "This session has no active organization.",
    );
    return;
  }
  state.me = me;
  saveAuth(auth);
  await openDashboard();
}

const isPlatform = () => state.me?.kind === "platform_admin";

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

const oldest = () => fmt.addDays(state.today, -RETENTION);
const inRange = (day) => fmt.isDay(day) && day >= oldest() && day <= state.today;

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

async function selectDate(day) {
  if (!inRange(day)) {
    setDayStatus("error", `Pick a day from ${oldest()} to ${state.today} (the retention window).`);
    $("date").value = state.date;
    return;
  }
  state.date = day;
  $("date").value = day;
  window.history.replaceState(null, "", `#date=${day}`);
  updateDayButtons();
  if (state.history) drawHistory();
  await loadDay(day);
}

function setDayStatus(kind, text) {
  const status = $("day-status");
  status.textContent = text;
  status.className = `banner ${kind}`;
  status.dataset.kind = kind;
}

// ---------------------------------------------------------------------------------------------
// Health.

async function loadHealth() {
  const err = $("health-error");
  let res;
  try {
    res = await request("/api/health");
  } catch (e) {
    renderHealth(null);
    err.textContent = e.message;
    show(err);
    return;
  }
  if (!res.body || !res.body.status) {
    renderHealth(null);
    err.textContent = describe(res.status, res.body);
    show(err);
    return;
  }
  show(err, false);
  renderHealth(res.body);
}

function renderHealth(h) {
  const pill = $("health-status");
  const list = $("health-checks");
  list.replaceChildren();
  if (!h) {
    pill.textContent = "unknown";
    pill.dataset.status = "unknown";
    $("health-meta").textContent = "";
    return;
  }
  pill.textContent = h.status + (h.reason ? ` (${h.reason})` : "");
  pill.dataset.status = h.status;
  $("health-meta").textContent =
    `version ${h.version ?? "?"} · up ${fmt.uptime(h.uptimeSeconds)} · checked ${fmt.timeOfDay(h.checkedAt)} UTC`;
  for (const c of h.checks || []) {
    const item = el(
      "li",
      { className: "check", data: { check: c.name, status: c.status } },
      el("span", { className: "check-name", text: c.name }),
      el("span", { className: "pill small", data: { status: c.status }, text: c.status }),
      c.responseTimeMs !== null && c.responseTimeMs !== undefined
        ? el("span", { className: "muted", text: fmt.ms(c.responseTimeMs) })
        : null,
      el("span", { className: "check-msg", text: c.message || "" }),
      c.errorClass ? el("span", { className: "tag", text: c.errorClass }) : null,
    );
    if (c.details && typeof c.details === "object" && Object.keys(c.details).length) {
      const dl = el("dl", { className: "details" });
      for (const [k, v] of Object.entries(c.details)) {
        dl.append(el("div", {}, el("dt", { text: k }), el("dd", { text: detailValue(v) })));
      }
      item.append(dl);
    }
    list.append(item);
  }
}

function detailValue(v) {
  if (v === null || v === undefined) return fmt.NONE;
  if (Array.isArray(v)) return v.map(detailValue).join(", ");
  if (typeof v === "object") {
    return Object.entries(v)
      .map(([k, x]) => `${k} ${x !== null && typeof x === "object" ? JSON.stringify(x) : x}`)
      .join(" · ");
  }
  return String(v);
}

// ---------------------------------------------------------------------------------------------
// One day's figures.

async function loadDay(day) {
  const seq = ++state.seq;
  setDayStatus("loading", `Loading ${day}…`);
  if (isPlatform()) await loadPlatformDay(day, seq);
  else await loadTenantDay(day, seq);
}

async function loadPlatformDay(day, seq) {
  const q = `date=${day}`;
  const results = await Promise.allSettled([
    api(`${ANALYTICS}/summary?${q}`),
    api(`${ANALYTICS}/endpoints?${q}&limit=1000`),
    api(`${ANALYTICS}/slow?${q}&limit=${SLOW_LIMIT}`),
    api(`${ANALYTICS}/tenants?${q}&limit=${TENANT_LIMIT}`),
  ]);
  if (seq !== state.seq || signedOutBy(results)) return;
  const [summary, endpoints, slow, tenants] = results;
  const empty = summary.status === "fulfilled" && !summary.value.count;
  const emptyText = `No requests recorded on ${day}.`;
  // Once the day's banner has the whole message, the panels say it briefly.
  const why = (r) => (summary.status === "rejected" ? r.reason.short : r.reason.message);

  if (summary.status === "fulfilled") {
    setDayStatus(empty ? "empty" : "ok", empty ? emptyText : `Figures for ${day} (UTC).`);
    panelMessage("summary", null);
    renderSummary(summary.value, true);
  } else {
    setDayStatus("error", summary.reason.message);
    panelMessage("summary", "error", summary.reason.short);
    $("summary-cards").replaceChildren();
  }

  if (endpoints.status === "fulfilled") {
    state.endpoints = endpoints.value.items || [];
    panelMessage("endpoints", null);
    renderEndpoints(emptyText);
    fillEndpointChoices();
  } else {
    state.endpoints = [];
    panelMessage("endpoints", "error", why(endpoints));
    $("endpoints-table").replaceChildren();
  }

  if (slow.status === "fulfilled") {
    panelMessage("slow", null);
    renderSlow(slow.value.items || [], emptyText);
  } else {
    panelMessage("slow", "error", why(slow));
    $("slow-table").replaceChildren();
  }

  if (tenants.status === "fulfilled") {
    state.tenants = tenants.value.items || [];
    panelMessage("tenants", null);
    renderTenants(emptyText);
  } else {
    state.tenants = [];
    panelMessage("tenants", "error", why(tenants));
    $("tenants-table").replaceChildren();
  }
}

async function loadTenantDay(day, seq) {
  const id = state.me.organizationId;
  const results = await Promise.allSettled([
    api(`${ANALYTICS}/tenants/${encodeURIComponent(id)}?date=${day}`),
  ]);
  if (seq !== state.seq || signedOutBy(results)) return;
  const [detail] = results;
  const emptyText = `No requests recorded on ${day}.`;
  if (detail.status === "fulfilled") {
    const d = detail.value;
    setDayStatus(d.count ? "ok" : "empty", d.count ? `Figures for ${day} (UTC).` : emptyText);
    panelMessage("summary", null);
    panelMessage("tenant-endpoints", null);
    renderSummary(d, false);
    renderTenantEndpoints(d.endpoints || [], emptyText);
  } else {
    setDayStatus("error", detail.reason.message);
    panelMessage("summary", "error", detail.reason.short);
    panelMessage("tenant-endpoints", "error", detail.reason.short);
    $("summary-cards").replaceChildren();
    $("tenant-endpoints-table").replaceChildren();
  }
}

function renderSummary(s, platform) {
  const cards = [
    ["count", "Requests", fmt.count(s.count)],
    ["errors", "Errors", fmt.count(s.errors)],
    ["errorRate", "Error rate", fmt.rate(s.errorRate, s.count)],
    ["p50Ms", "p50", fmt.ms(s.p50Ms)],
    ["p95Ms", "p95", fmt.ms(s.p95Ms)],
    ["p99Ms", "p99", fmt.ms(s.p99Ms)],
    ["maxMs", "Max", fmt.ms(s.maxMs)],
    ["avgMs", "Average", fmt.ms(s.avgMs)],
  ];
  if (platform) {
    cards.push(["endpoints", "Endpoints", fmt.count(s.endpoints)]);
    cards.push(["tenants", "Tenants", fmt.count(s.tenants)]);
  } else {
    cards.push(["clientErrors", "4xx", fmt.count(s.clientErrors)]);
    cards.push(["serverErrors", "5xx", fmt.count(s.serverErrors)]);
  }
  const dl = $("summary-cards");
  dl.replaceChildren(
    ...cards.map(([field, label, text]) =>
      el(
        "div",
        { className: "stat", data: { field, value: s[field] ?? "" } },
        el("dt", { text: label }),
        el("dd", { text }),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Sortable tables.

const FIGURE_COLUMNS = [
  { key: "count", label: "Count", text: (r) => fmt.count(r.count) },
  { key: "errors", label: "Errors", text: (r) => fmt.count(r.errors) },
  { key: "errorRate", label: "Error rate", text: (r) => fmt.rate(r.errorRate, r.count) },
  { key: "p50Ms", label: "p50", text: (r) => fmt.ms(r.p50Ms) },
  { key: "p95Ms", label: "p95", text: (r) => fmt.ms(r.p95Ms) },
  { key: "p99Ms", label: "p99", text: (r) => fmt.ms(r.p99Ms) },
  { key: "maxMs", label: "Max", text: (r) => fmt.ms(r.maxMs) },
];

/**
 * Draw `rows` into `table`, sorted by `sort` ({key, dir}); a header click re-sorts.
 * columns: {key, label, text(row), cell?(row) -> Node, sortValue?(row), numeric?}
 */
function drawTable(table, columns, rows, sort, rowData, emptyText) {
  const value = (col, row) => (col.sortValue ? col.sortValue(row) : row[col.key]);
  const col = columns.find((c) => c.key === sort.key) || columns[0];
  const sign = sort.dir === "asc" ? 1 : -1;
  const sorted = [...rows].sort((a, b) => {
    const va = value(col, a);
    const vb = value(col, b);
    if (va === vb) return 0;
    if (va === null || va === undefined) return 1; // missing figures last either way
    if (vb === null || vb === undefined) return -1;
    return (typeof va === "string" ? va.localeCompare(vb) : va - vb) * sign;
  });
  const head = el(
    "tr",
    {},
    columns.map((c) => {
      const active = c.key === col.key;
      const th = el("th", {
        scope: "col",
        className: c.numeric === false ? "" : "num",
        "aria-sort": active ? (sort.dir === "asc" ? "ascending" : "descending") : "none",
      });
      const button = el("button", {
        type: "button",
        className: "sort",
        data: { sort: c.key },
        text: c.label + (active ? (sort.dir === "asc" ? " ▲" : " ▼") : ""),
      });
      button.addEventListener("click", () => {
        if (sort.key === c.key) sort.dir = sort.dir === "asc" ? "desc" : "asc";
        else {
          sort.key = c.key;
          sort.dir = c.numeric === false ? "asc" : "desc";
        }
        drawTable(table, columns, rows, sort, rowData, emptyText);
      });
      th.append(button);
      return th;
    }),
  );
  const body = el("tbody");
  if (!sorted.length) {
    const td = el("td", { className: "empty", text: emptyText });
    td.colSpan = columns.length;
    body.append(el("tr", {}, td));
  }
  for (const row of sorted) {
    body.append(
      el(
        "tr",
        { data: rowData(row) },
        columns.map((c) =>
          el(
            "td",
            {
              className: c.numeric === false ? "" : "num",
              data: { field: c.key, value: row[c.key] ?? "" },
            },
            c.cell ? c.cell(row) : c.text(row),
          ),
        ),
      ),
    );
  }
  table.replaceChildren(el("thead", {}, head), body);
}

function methodTag(method) {
  return el("span", { className: `method m-${String(method).toLowerCase()}`, text: method });
}

function renderEndpoints(emptyText) {
  const columns = [
    {
      key: "endpoint",
      label: "Endpoint",
      numeric: false,
      sortValue: (r) => `${r.route} ${r.method}`,
      cell: (r) => {
        const button = el(
          "button",
          { type: "button", className: "link", title: "Show this endpoint's history" },
          methodTag(r.method),
          el("span", { className: "route", text: r.route }),
        );
        button.addEventListener("click", () => {
          $("history-endpoint").value = `${r.method} ${r.route}`;
          loadHistory();
          $("history").scrollIntoView({ behavior: "smooth", block: "start" });
        });
        return button;
      },
    },
    ...FIGURE_COLUMNS,
  ];
  drawTable(
    $("endpoints-table"),
    columns,
    state.endpoints,
    state.endpointSort,
    (r) => ({ endpoint: `${r.method} ${r.route}` }),
    emptyText,
  );
}

const SPECIAL_TENANTS = {
  anonymous: "anonymous (no credentials)",
  "platform-admin": "platform admin",
  _overflow: "other tenants (over the day's cap)",
};

/** A tenant: its organization's name when known, and the id (only as a tooltip if compact). */
function tenantCell(id, compact = false) {
  const name = SPECIAL_TENANTS[id] || state.orgNames.get(id);
  if (!name) return el("span", { className: "tenant-id", text: id });
  return el(
    "span",
    { title: id },
    el("span", { className: SPECIAL_TENANTS[id] ? "tenant-special" : "tenant-name", text: name }),
    SPECIAL_TENANTS[id] || compact ? null : el("span", { className: "tenant-id", text: id }),
  );
}

function renderTenants(emptyText) {
  const columns = [
    {
      key: "tenant",
      label: "Tenant",
      numeric: false,
      sortValue: (r) => SPECIAL_TENANTS[r.tenant] || state.orgNames.get(r.tenant) || r.tenant,
      cell: (r) => tenantCell(r.tenant),
    },
    ...FIGURE_COLUMNS,
  ];
  drawTable(
    $("tenants-table"),
    columns,
    state.tenants,
    state.tenantSort,
    (r) => ({ tenant: r.tenant }),
    emptyText,
  );
}

function renderSlow(items, emptyText) {
  const columns = [
    { key: "durationMs", label: "Duration", text: (r) => fmt.ms(r.durationMs) },
    { key: "status", label: "Status", text: (r) => String(r.status) },
    {
      key: "endpoint",
      label: "Endpoint",
      numeric: false,
      sortValue: (r) => `${r.route} ${r.method}`,
      cell: (r) => el("span", {}, methodTag(r.method), el("span", { className: "route", text: r.route })),
    },
    { key: "tenant", label: "Tenant", numeric: false, cell: (r) => tenantCell(r.tenant, true) },
    { key: "endedAt", label: "Ended (UTC)", numeric: false, text: (r) => fmt.timeOfDay(r.endedAt) },
    {
      key: "requestId",
      label: "Request id",
      numeric: false,
      cell: (r) => el("code", { text: r.requestId }),
    },
  ];
  drawTable($("slow-table"), columns, items, { key: "durationMs", dir: "desc" }, () => ({}), emptyText);
}

function renderTenantEndpoints(items, emptyText) {
  const columns = [
    {
      key: "endpoint",
      label: "Endpoint",
      numeric: false,
      sortValue: (r) => `${r.route} ${r.method}`,
      cell: (r) => el("span", {}, methodTag(r.method), el("span", { className: "route", text: r.route })),
    },
    { key: "count", label: "Count", text: (r) => fmt.count(r.count) },
  ];
  drawTable(
    $("tenant-endpoints-table"),
    columns,
    items,
    { key: "count", dir: "desc" },
    (r) => ({ endpoint: `${r.method} ${r.route}` }),
    emptyText,
  );
}

async function loadOrgNames() {
  try {
    const body = await api("/api/admin/organizations?limit=200");
    for (const o of body.items || []) {
      if (o && typeof o.id === "string" && typeof o.name === "string") state.orgNames.set(o.id, o.name);
    }
    if (state.tenants.length) renderTenants("");
  } catch {
    // Names are a nicety: the tenant ids stay.
  }
}

// ---------------------------------------------------------------------------------------------
// History over the retention window: one bar per day, drawn as inline SVG.

function fillEndpointChoices() {
  const select = $("history-endpoint");
  const current = select.value;
  const names = new Set([...select.options].map((o) => o.value));
  for (const r of state.endpoints) {
    const name = `${r.method} ${r.route}`;
    if (!names.has(name)) {
      select.append(el("option", { value: name, text: name }));
      names.add(name);
    }
  }
  select.value = current;
}

async function loadHistory() {
  const seq = ++state.historySeq;
  const from = oldest();
  const to = state.today;
  let points;
  try {
    if (isPlatform()) {
      const endpoint = $("history-endpoint").value;
      const q = `from=${from}&to=${to}${endpoint ? `&endpoint=${encodeURIComponent(endpoint)}` : ""}`;
      points = (await api(`${ANALYTICS}/history?${q}`)).points || [];
    } else {
      points = await tenantHistory(from, to);
    }
  } catch (e) {
    if (seq !== state.historySeq) return;
    if (e.status === 401) {
      toSignIn(`Signed out: ${e.message}`);
      return;
    }
    state.history = null;
    $("history-chart").replaceChildren();
    panelMessage("history", "error", e.message);
    return;
  }
  if (seq !== state.historySeq) return;
  panelMessage("history", null);
  state.history = { points };
  drawHistory();
}

/** An org admin's history: their tenant's figures, one request per day (a few at a time). */
async function tenantHistory(from, to) {
  const days = fmt.daysFrom(from, to);
  const id = encodeURIComponent(state.me.organizationId);
  const out = new Array(days.length);
  let next = 0;
  async function worker() {
    while (next < days.length) {
      const i = next++;
      const d = await api(`${ANALYTICS}/tenants/${id}?date=${days[i]}`);
      out[i] = { ...d, date: days[i] };
    }
  }
  await Promise.all(Array.from({ length: HISTORY_CONCURRENCY }, worker));
  return out;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function drawHistory() {
  const box = $("history-chart");
  const points = state.history?.points || [];
  const metric = $("history-metric").value;
  const W = 960;
  const H = 260;
  const m = { l: 64, r: 12, t: 14, b: 36 };
  const plotW = W - m.l - m.r;
  const plotH = H - m.t - m.b;
  const value = (p) => {
    const v = p[metric];
    return v === null || v === undefined ? null : Number(v);
  };
  const label = (v) =>
    metric === "count" ? fmt.count(v) : metric === "errorRate" ? fmt.rate(v, 1) : fmt.ms(v);
  const max = niceMax(Math.max(0, ...points.map((p) => value(p) ?? 0)));
  const y = (v) => m.t + plotH - (v / max) * plotH;
  const band = points.length ? plotW / points.length : plotW;
  const barW = Math.max(2, band * 0.72);

  const chart = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "history-svg",
    role: "img",
    "aria-label": `${$("history-metric").selectedOptions[0]?.text || metric} per day, ${points[0]?.date ?? ""} to ${points.at(-1)?.date ?? ""}`,
  });
  for (const frac of [0, 0.25, 0.5, 0.75, 1]) {
    const gy = y(max * frac);
    chart.append(
      svg("line", { x1: m.l, x2: W - m.r, y1: gy, y2: gy, class: frac ? "grid" : "axis" }),
      svg("text", { x: m.l - 8, y: gy + 4, class: "ylabel", "text-anchor": "end" }, label(max * frac)),
    );
  }
  const every = Math.max(1, Math.ceil(points.length / 12));
  points.forEach((p, i) => {
    const x0 = m.l + i * band;
    const x = x0 + (band - barW) / 2;
    const v = value(p);
    const g = svg("g", {
      class: `day${p.date === state.date ? " selected" : ""}`,
      "data-date": p.date,
      "data-value": v ?? "",
    });
    if (p.date === state.date) {
      g.append(svg("rect", { x: x0, y: m.t, width: band, height: plotH, class: "sel-band" }));
    }
    if (v) {
      if (metric === "count") {
        const errors = Math.min(Number(p.errors) || 0, v);
        g.append(svg("rect", { x, y: y(v), width: barW, height: y(0) - y(v), class: "bar ok" }));
        if (errors) {
          g.append(
            svg("rect", { x, y: y(errors), width: barW, height: y(0) - y(errors), class: "bar err" }),
          );
        }
      } else {
        g.append(svg("rect", { x, y: y(v), width: barW, height: y(0) - y(v), class: "bar lat" }));
      }
    }
    if (i % every === 0 || i === points.length - 1) {
      g.append(
        svg("text", { x: x0 + band / 2, y: H - m.b + 16, class: "xlabel", "text-anchor": "middle" }, fmt.shortDay(p.date)),
      );
    }
    // The whole column is the hit area: a tooltip, and a click shows that day.
    const hit = svg("rect", { x: x0, y: m.t, width: band, height: plotH, class: "hit" });
    hit.append(
      svg(
        "title",
        {},
        `${p.date}: ${fmt.count(p.count)} requests, ${fmt.count(p.errors)} errors, p95 ${fmt.ms(p.p95Ms)}, p99 ${fmt.ms(p.p99Ms)}`,
      ),
    );
    hit.addEventListener("click", () => selectDate(p.date));
    g.append(hit);
    chart.append(g);
  });
  const nothing = !points.some((p) => p.count);
  const children = [chart];
  if (nothing) {
    children.push(
      el("p", { className: "chart-empty", text: `No requests recorded from ${points[0]?.date ?? oldest()} to ${points.at(-1)?.date ?? state.today}.` }),
    );
  } else if (metric === "count") {
    children.push(
      el(
        "p",
        { className: "legend" },
        el("span", { className: "key ok" }),
        " requests ",
        el("span", { className: "key err" }),
        " errors (4xx and 5xx) · click a day to show it",
      ),
    );
  }
  box.replaceChildren(...children);
}

// ---------------------------------------------------------------------------------------------
// Wiring.

function refresh() {
  loadHealth();
  return Promise.all([loadDay(state.date), loadHistory()]);
}

function init() {
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("token").value.trim();
    if (!token) {
      toSignIn("Type the admin token first.");
      return;
    }
    signIn({ mode: "token", token });
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

  const saved = loadAuth();
  if (saved) signIn(saved);
  else toSignIn("");
}

init();
