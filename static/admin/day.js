// UnionEyes admin dashboard: one day's figures, served at /admin/day.js. Loads the chosen day
// (a platform admin: summary, endpoints, slowest requests, tenants; an org admin: their
// tenant's detail), says in the day's banner what came back, and fills the Summary cards.
// Answers to an older day's load are dropped.

import * as fmt from "/admin/format.js";
import { api } from "/admin/api.js";
import { $, el, panelMessage } from "/admin/dom.js";
import { fillEndpointChoices } from "/admin/history.js";
import { signedOutBy } from "/admin/signin.js";
import { ANALYTICS, SLOW_LIMIT, TENANT_LIMIT, isPlatform, state } from "/admin/state.js";
import {
  renderEndpoints,
  renderSlow,
  renderTenantEndpoints,
  renderTenants,
} from "/admin/tables.js";

/** The day's banner: `kind` "loading" | "ok" | "empty" | "error". */
export function setDayStatus(kind, text) {
  const status = $("day-status");
  status.textContent = text;
  status.className = `banner ${kind}`;
  status.dataset.kind = kind;
}

export async function loadDay(day) {
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
