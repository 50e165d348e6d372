// tests/browser/dashboard/harness.mjs: the browser session of one run of dashboard.mjs. On
// import it reads the scenario file, starts the system Chromium (playwright-core, a new empty
// profile), blocks every request that leaves 127.0.0.1 and collects console errors; it exports
// the page, the checks (failures are collected, not thrown) and the helpers the scenarios read
// the page with.

import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";

// The page's own formatting: what the page must show is written exactly as it writes it.
export const fmt = await import(new URL("../../../static/admin/format.js", import.meta.url).href);

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const sc = JSON.parse(readFileSync(process.argv[2], "utf8"));
export const base = sc.baseUrl;
export const failures = [];
export const consoleErrors = [];
export const blocked = [];
export const requests = [];
let allowedErrors = []; // regexes for console errors the current step expects

/** The console errors the next steps expect (regexes); `[]` when none. */
export function allowErrors(regexes) {
  allowedErrors = regexes;
}

export const log = (...a) => console.log(...a);
export function check(what, actual, expected) {
  if (actual === expected) log(`ok   ${what}: ${JSON.stringify(actual)}`);
  else failures.push(`${what}: shown ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}
export function ensure(what, cond, detail = "") {
  if (cond) log(`ok   ${what}`);
  else failures.push(`${what}${detail ? `: ${detail}` : ""}`);
}

const watchdog = setTimeout(() => {
  console.error("the browser run took over 100 s; giving up");
  process.exit(2);
}, 100_000);

const profile = mkdtempSync(join(tmpdir(), "unioneyes-chromium-"));
export const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ARGS,
  viewport: { width: 1280, height: 900 },
  deviceScaleFactor: 1,
  timezoneId: "UTC",
  locale: "en-US",
});
export const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(15_000);

// Offline: only the service under test answers.
await context.route("**/*", (route) => {
  const url = new URL(route.request().url());
  if (url.hostname === "127.0.0.1" || url.hostname === "localhost") return route.continue();
  blocked.push(url.href);
  return route.abort();
});
page.on("request", (r) => requests.push({ url: r.url(), headers: r.headers() }));
page.on("console", (m) => {
  if (m.type() !== "error") return;
  const text = m.text();
  if (allowedErrors.some((re) => re.test(text))) log(`(expected console error: ${text})`);
  else consoleErrors.push(text);
});
page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
page.on("response", (r) => {
  if (r.status() >= 400) log(`(answer ${r.status()} to ${r.request().method()} ${new URL(r.url()).pathname})`);
});

/** Close the browser and remove its profile. */
export async function close() {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  clearTimeout(watchdog);
}

// ---------------------------------------------------------------------------------------------

export const text = (sel) => page.locator(sel).first().textContent();
export const attr = (sel, name) => page.locator(sel).first().getAttribute(name);

export async function waitFor(fn, arg, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout: 15_000 });
  } catch (e) {
    const status = await page.evaluate(() => document.getElementById("day-status")?.textContent);
    throw new Error(`waiting for ${what}: ${e.message.split("\n")[0]} (day status: ${status})`);
  }
}

export const dayLoaded = (kind, day) =>
  waitFor(
    ([k, d]) => {
      const s = document.getElementById("day-status");
      return s?.dataset.kind === k && (!d || s.textContent.includes(d));
    },
    [kind, day],
    `day status ${kind} ${day || ""}`,
  );

export async function summaryField(field) {
  const sel = `#summary-cards [data-field="${field}"]`;
  return { text: await text(`${sel} dd`), value: await attr(sel, "data-value") };
}

export async function checkSummary(label, s, fields) {
  for (const [field, f] of fields) {
    const shown = await summaryField(field);
    check(`${label} ${field}`, shown.text, f(s[field], s));
    check(`${label} ${field} value`, shown.value, s[field] === null ? "" : String(s[field]));
  }
}

export const SUMMARY_FIELDS = [
  ["count", (v) => fmt.count(v)],
  ["errors", (v) => fmt.count(v)],
  ["errorRate", (v, s) => fmt.rate(v, s.count)],
  ["p50Ms", (v) => fmt.ms(v)],
  ["p95Ms", (v) => fmt.ms(v)],
  ["p99Ms", (v) => fmt.ms(v)],
  ["maxMs", (v) => fmt.ms(v)],
];

export async function cell(rowSel, field) {
  const sel = `${rowSel} td[data-field="${field}"]`;
  if (!(await page.locator(sel).count())) return { text: null, value: null };
  return { text: await text(sel), value: await attr(sel, "data-value") };
}

export async function tableValues(table, field) {
  return page.$$eval(`#${table} tbody td[data-field="${field}"]`, (tds) =>
    tds.map((td) => td.dataset.value),
  );
}

export async function historyCheck(label, points) {
  const days = await page.$$eval("#history-chart g.day", (gs) =>
    gs.map((g) => [g.dataset.date, g.dataset.value]),
  );
  check(`${label} history days`, days.length, sc.retentionDays + 1);
  const byDay = new Map(days);
  for (const [day, count] of points) {
    check(`${label} history bar ${day}`, byDay.get(day), String(count));
  }
  // The axis of counts: each gridline a different whole count (not "0, 0, 1, 1, 1").
  const labels = await page.$$eval("#history-chart text.ylabel", (ts) => ts.map((t) => t.textContent));
  ensure(
    `${label} history axis labels are distinct counts`,
    labels.length >= 2 && new Set(labels).size === labels.length && labels.every((l) => /^[0-9][0-9,.]*[kM]?$/.test(l)),
    labels.join(" "),
  );
}

export async function pickDate(day) {
  await page.fill("#date", day);
  await page.locator("#date").dispatchEvent("change");
}

export async function screenshot(path) {
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
  log(`screenshot: ${path}`);
}

export function noTokenInUrls(token) {
  const leaked = requests.filter((r) => token && r.url.includes(token));
  ensure("the token is never in a URL", leaked.length === 0, leaked.map((r) => r.url).join(", "));
}
