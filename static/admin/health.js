// UnionEyes admin dashboard: the Health panel, served at /admin/health.js. Reads /api/health
// (with the admin token it includes each check's errorClass and details) and lists every check.

import * as fmt from "/admin/format.js";
import { describe, request } from "/admin/api.js";
import { $, el, show } from "/admin/dom.js";

export async function loadHealth() {
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
