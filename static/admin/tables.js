// UnionEyes admin dashboard: the sortable tables (endpoints, tenants, slowest requests, an
// organization's endpoints), served at /admin/tables.js. A header click re-sorts; a tenant is
// shown by its organization's name once GET /api/admin/organizations has answered.

import * as fmt from "/admin/format.js";
import { api } from "/admin/api.js";
import { $, el } from "/admin/dom.js";
import { loadHistory } from "/admin/history.js";
import { state } from "/admin/state.js";

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

export function renderEndpoints(emptyText) {
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

export function renderTenants(emptyText) {
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

export function renderSlow(items, emptyText) {
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

export function renderTenantEndpoints(items, emptyText) {
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

export async function loadOrgNames() {
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
