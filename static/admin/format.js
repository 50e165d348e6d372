// UnionEyes admin dashboard: how figures, durations and days are written (pure functions, no
// DOM), served at /admin/format.js. The browser test imports this module too, so what it
// expects on screen is written exactly as the page writes it.

/** Placeholder for a figure that does not exist (a day without requests has no p95). */
export const NONE = "—";

/** A count: 48210 → "48,210". */
export function count(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return NONE;
  return Number(n).toLocaleString("en-US", { maximumFractionDigits: 0 });
}

/** Milliseconds (fractional, as the API sends them): 3 significant figures or so. */
export function ms(v) {
  if (v === null || v === undefined) return NONE;
  const n = Number(v);
  if (!Number.isFinite(n)) return NONE;
  if (n >= 1000) return `${(n / 1000).toFixed(2)} s`;
  if (n >= 100) return `${n.toFixed(0)} ms`;
  if (n >= 10) return `${n.toFixed(1)} ms`;
  return `${n.toFixed(2)} ms`;
}

/** An error rate (0.0117) as a percentage; none without requests. */
export function rate(r, total) {
  if (!total || r === null || r === undefined) return NONE;
  const p = Number(r) * 100;
  if (p === 0) return "0%";
  if (p >= 10) return `${p.toFixed(1)}%`;
  return `${p.toFixed(2)}%`;
}

/** A duration in seconds: 42 → "42 s", 3700 → "1 h 1 min", 200000 → "2 d 7 h". */
export function uptime(secs) {
  const s = Math.max(0, Math.floor(Number(secs) || 0));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** The time of day of an RFC 3339 UTC timestamp ("…T14:02:11.532Z" → "14:02:11.532"). */
export function timeOfDay(iso) {
  const m = /T(\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)/.exec(String(iso ?? ""));
  return m ? m[1] : String(iso ?? NONE);
}

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `s` is a real calendar day written YYYY-MM-DD. */
export function isDay(s) {
  const m = DAY_RE.exec(String(s ?? ""));
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

/** The UTC day of a Date, YYYY-MM-DD. */
export function dayOf(date) {
  return date.toISOString().slice(0, 10);
}

/** `day` moved by `n` days (UTC). */
export function addDays(day, n) {
  const m = DAY_RE.exec(day);
  if (!m) throw new Error(`not a day: ${day}`);
  return dayOf(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + n)));
}

/** Every day from `from` to `to`, both included. */
export function daysFrom(from, to) {
  const out = [];
  for (let d = from; d <= to && out.length < 400; d = addDays(d, 1)) out.push(d);
  return out;
}

/** "2026-12-03" → "12-03" (chart labels). */
export function shortDay(day) {
  return String(day).slice(5);
}
