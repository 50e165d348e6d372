// tests/browser/dashboard.mjs: the admin dashboard (/admin) in the system Chromium, driven by
// playwright-core. Run by tests/api/dashboard/ (browser.rs), which starts the service, makes
// traffic, reads the JSON API itself and writes what the page must show into a scenario file:
//
//   node tests/browser/dashboard.mjs <scenario.json>
//
// Scenarios: "platform" (admin token typed in), "org" (an org admin's __session cookie),
// "redis-down" (the analytics API answers 503). Every request that leaves 127.0.0.1 is
// blocked (the page must work offline); any console error or page error not expected by the
// step fails the run. Exit 0 when every check passed, 1 otherwise (with what differed).
//
// The browser session and its checks are in dashboard/harness.mjs, the scenarios in
// dashboard/scenarios.mjs.

import {
  blocked,
  close,
  consoleErrors,
  failures,
  log,
  sc,
  screenshot,
} from "./dashboard/harness.mjs";
import { scenarios } from "./dashboard/scenarios.mjs";

let crashed = null;
try {
  const run = scenarios[sc.scenario];
  if (!run) throw new Error(`unknown scenario ${sc.scenario}`);
  await run();
} catch (e) {
  crashed = e;
  try {
    await screenshot(sc.screenshot.replace(/\.png$/, "-failed.png"));
  } catch {
    // no screenshot then
  }
} finally {
  await close();
}

if (blocked.length) failures.push(`the page asked for other hosts: ${blocked.join(", ")}`);
if (consoleErrors.length) failures.push(`console errors: ${consoleErrors.join(" | ")}`);
if (crashed) failures.push(`the run stopped: ${crashed.stack || crashed}`);
if (failures.length) {
  console.error(`\n${failures.length} check(s) failed:`);
  for (const f of failures) console.error(`FAIL ${f}`);
  process.exit(1);
}
log(`\nall checks passed (${sc.scenario})`);
