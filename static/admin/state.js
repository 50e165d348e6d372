// UnionEyes admin dashboard: the page's state and settings, served at /admin/state.js. One
// object shared by every module: who is signed in, the day shown, the tables' rows and sort
// orders, the history's points. Nothing here touches the DOM beyond reading the retention.

import * as fmt from "/admin/format.js";

export const ANALYTICS = "/api/admin/analytics";
export const SLOW_LIMIT = 10;
export const TENANT_LIMIT = 200;
/** Concurrent requests when an org admin's history is read day by day. */
export const HISTORY_CONCURRENCY = 6;

/** Days kept (ANALYTICS_RETENTION_DAYS), from the page's meta tag. */
export const RETENTION = (() => {
  const meta = document.querySelector('meta[name="ue-retention-days"]');
  const n = Number.parseInt(meta ? meta.content : "", 10);
  return Number.isInteger(n) && n >= 1 && n <= 365 ? n : 30;
})();

export const state = {
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

export const isPlatform = () => state.me?.kind === "platform_admin";

/** The first day of the retention window, and whether `day` lies in it. */
export const oldest = () => fmt.addDays(state.today, -RETENTION);
export const inRange = (day) => fmt.isDay(day) && day >= oldest() && day <= state.today;
