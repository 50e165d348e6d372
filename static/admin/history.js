// UnionEyes admin dashboard: loading the History panel, served at /admin/history.js. A platform
// admin's history comes from one history?from=&to= call (optionally for one endpoint); an org
// admin's from their tenant's detail, one day at a time. chart.js draws it.

import * as fmt from "/admin/format.js";
import { api } from "/admin/api.js";
import { drawHistory } from "/admin/chart.js";
import { $, el, panelMessage } from "/admin/dom.js";
import { toSignIn } from "/admin/signin.js";
import { ANALYTICS, HISTORY_CONCURRENCY, isPlatform, oldest, state } from "/admin/state.js";

/** The endpoint picker's choices: every endpoint seen so far, the current choice kept. */
export function fillEndpointChoices() {
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

export async function loadHistory() {
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
      points = await tenantHistory(from, to, seq);
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

/**
 * An org admin's history: their tenant's figures, one request per day (a few at a time). The
 * first failure (a 401 above all) stops every worker: no further day is asked for.
 */
async function tenantHistory(from, to, seq) {
  const days = fmt.daysFrom(from, to);
  const id = encodeURIComponent(state.me.organizationId);
  const out = new Array(days.length);
  let next = 0;
  let failed = false;
  async function worker() {
    while (next < days.length && !failed && seq === state.historySeq) {
      const i = next++;
      try {
        const d = await api(`${ANALYTICS}/tenants/${id}?date=${days[i]}`);
        out[i] = { ...d, date: days[i] };
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  }
  await Promise.all(Array.from({ length: HISTORY_CONCURRENCY }, worker));
  return out;
}
