// tests/browser/dashboard/scenarios.mjs: what dashboard.mjs checks on the page, one function
// per scenario: "platform" (admin token typed in), "org" (an org admin's __session cookie,
// which then expires), "redis-down" (the analytics API answers 503). `sc.expect` holds the JSON API's figures.

import {
  SUMMARY_FIELDS,
  allowErrors,
  attr,
  base,
  cell,
  check,
  checkSummary,
  context,
  dayLoaded,
  ensure,
  fmt,
  historyCheck,
  log,
  noTokenInUrls,
  page,
  pickDate,
  requests,
  sc,
  screenshot,
  summaryField,
  tableValues,
  text,
  waitFor,
} from "./harness.mjs";

async function platform() {
  const res = await page.goto(`${base}/admin`);
  const csp = res.headers()["content-security-policy"] || "";
  ensure("the page has a strict CSP", /default-src 'none'/.test(csp) && /frame-ancestors 'none'/.test(csp), csp);
  await page.waitForSelector("#signin:not([hidden])");

  // A wrong token: back to the form with the server's reason.
  allowErrors([/status of 401/]);
  await page.fill("#token", "not-the-admin-token");
  await page.click("#token-submit");
  await waitFor(
    () => /not accepted/.test(document.getElementById("signin-error")?.textContent || ""),
    null,
    "the sign-in error",
  );
  const refused = await text("#signin-error");
  ensure(
    "a refused token is explained plainly, the server's code in parentheses",
    /neither the admin token nor a valid session token/.test(refused) &&
      /\(401, token_malformed\)/.test(refused),
    refused,
  );
  allowErrors([]);

  // Characters no token has are refused on the form, with the reason (no request is made).
  await page.fill("#token", "tøken with spaces");
  await page.click("#token-submit");
  await waitFor(
    () => /not a token/.test(document.getElementById("signin-error")?.textContent || ""),
    null,
    "the refusal of a token with characters no token has",
  );

  // A pasted `Bearer ` prefix, quotes and blanks around the token are dropped.
  await page.fill("#token", `  Bearer '${sc.adminToken}' `);
  await page.press("#token", "Enter");
  await dayLoaded("ok", sc.today);
  check("who", await text("#whoami-label"), "Platform admin");
  const stored = await page.evaluate(() => sessionStorage.getItem("unioneyes.admin.auth"));
  ensure("the token is kept in sessionStorage", (stored || "").includes(sc.adminToken));
  ensure(
    "nothing in localStorage",
    (await page.evaluate(() => localStorage.length)) === 0,
  );
  check("the date picker starts on today", await page.inputValue("#date"), sc.today);
  check("the picker's lower bound is the retention window", await attr("#date", "min"), sc.oldest);
  check("the picker's upper bound is today", await attr("#date", "max"), sc.today);

  // Health, with the admin details (the bearer token reached /api/health).
  await waitFor(
    () => document.getElementById("health-status")?.dataset.status !== "unknown" &&
      document.querySelectorAll("#health-checks li").length > 0,
    null,
    "health",
  );
  // Live figures (probed every second): the verdicts that cannot vary here, and the others
  // within what a working instance may say.
  const live = ["healthy", "degraded"];
  const verdict = await attr("#health-status", "data-status");
  ensure("health status", live.includes(verdict), verdict);
  check("health check database", await attr('#health-checks li[data-check="database"]', "data-status"), "healthy");
  for (const name of ["redis", "analytics"]) {
    const shown = await attr(`#health-checks li[data-check="${name}"]`, "data-status");
    ensure(`health check ${name}`, live.includes(shown), shown);
  }
  ensure(
    "admin health details are shown",
    (await page.locator('#health-checks li[data-check="database"] dl.details').count()) === 1,
  );

  // The day's figures equal the JSON API's.
  await checkSummary("summary", sc.expect.summary, [
    ...SUMMARY_FIELDS,
    ["endpoints", (v) => fmt.count(v)],
    ["tenants", (v) => fmt.count(v)],
  ]);
  const eps = sc.expect.endpoints.items;
  check("endpoint rows", await page.locator("#endpoints-table tbody tr").count(), eps.length);
  for (const e of eps) {
    const row = `#endpoints-table tr[data-endpoint="${e.method} ${e.route}"]`;
    for (const field of ["count", "errors", "p50Ms", "p95Ms", "p99Ms", "maxMs"]) {
      const c = await cell(row, field);
      const want = field === "count" || field === "errors" ? fmt.count(e[field]) : fmt.ms(e[field]);
      check(`endpoint ${e.method} ${e.route} ${field}`, c.text, want);
      check(`endpoint ${e.method} ${e.route} ${field} value`, c.value, String(e[field] ?? ""));
    }
    const rate = await cell(row, "errorRate");
    check(`endpoint ${e.method} ${e.route} error rate`, rate.text, fmt.rate(e.errorRate, e.count));
  }
  // Sorting: by p99, slowest first, then the other way.
  await page.click('#endpoints-table button[data-sort="p99Ms"]');
  const p99Desc = (await tableValues("endpoints-table", "p99Ms")).map(Number);
  check("sorted by p99 descending", JSON.stringify(p99Desc), JSON.stringify([...p99Desc].sort((a, b) => b - a)));
  check("p99 header says descending", await attr('#endpoints-table th:has(button[data-sort="p99Ms"])', "aria-sort"), "descending");
  await page.click('#endpoints-table button[data-sort="p99Ms"]');
  const p99Asc = (await tableValues("endpoints-table", "p99Ms")).map(Number);
  check("sorted by p99 ascending", JSON.stringify(p99Asc), JSON.stringify([...p99Asc].sort((a, b) => a - b)));
  await page.click('#endpoints-table button[data-sort="count"]');

  const tenants = sc.expect.tenants.items;
  check("tenant rows", await page.locator("#tenants-table tbody tr").count(), tenants.length);
  for (const t of tenants) {
    const row = `#tenants-table tr[data-tenant="${t.tenant}"]`;
    check(`tenant ${t.tenant} count`, (await cell(row, "count")).text, fmt.count(t.count));
    check(`tenant ${t.tenant} p99`, (await cell(row, "p99Ms")).value, String(t.p99Ms ?? ""));
  }
  if (sc.orgName) {
    await waitFor(
      (name) => document.getElementById("tenants-table").textContent.includes(name),
      sc.orgName,
      "the organization's name in the tenants table",
    );
    ensure("tenants show the organization's name", true);
  }
  const slow = sc.expect.slow.items;
  check("slow rows", await page.locator("#slow-table tbody tr").count(), slow.length);
  check("slowest request", (await cell("#slow-table tbody tr:first-child", "durationMs")).text, fmt.ms(slow[0].durationMs));
  check("slowest request id", await text("#slow-table tbody tr:first-child td[data-field=requestId]"), slow[0].requestId);

  await waitFor(() => document.querySelectorAll("#history-chart g.day").length > 0, null, "the history chart");
  await historyCheck("today", [
    [sc.today, sc.expect.summary.count],
    [sc.emptyDay, 0],
    [sc.pastDay, sc.expect.past.count],
  ]);
  // Days of a handful of requests (a small tenant) get an axis of whole counts, as the page's
  // own module computes it (these figures have hundreds, so the drawn axis above cannot show it).
  const maxima = await page.evaluate(async () => {
    const chart = await import("/admin/chart.js");
    return [0, 1, 2, 3, 7, 23, 250].map((v) => chart.niceMax(v, true));
  });
  check("count axis maxima of small days", JSON.stringify(maxima), JSON.stringify([1, 1, 2, 4, 10, 40, 400]));

  // An empty day, picked in the date picker.
  await pickDate(sc.emptyDay);
  await dayLoaded("empty", sc.emptyDay);
  check("empty day message", await text("#day-status"), `No requests recorded on ${sc.emptyDay}.`);
  check("empty day count", (await summaryField("count")).text, "0");
  check("empty day p95", (await summaryField("p95Ms")).text, fmt.NONE);
  check("empty day endpoints table", await text("#endpoints-table td.empty"), `No requests recorded on ${sc.emptyDay}.`);
  check("the day is in the address (not the token)", await page.evaluate(() => location.hash), `#date=${sc.emptyDay}`);

  // A past day with figures, by clicking its bar in the history chart.
  await page.click(`#history-chart g.day[data-date="${sc.pastDay}"] rect.hit`);
  await dayLoaded("ok", sc.pastDay);
  await checkSummary("past day", sc.expect.past, SUMMARY_FIELDS);
  check("past day picker", await page.inputValue("#date"), sc.pastDay);

  // Back to today.
  await page.click("#today");
  await dayLoaded("ok", sc.today);
  check("back to today", (await summaryField("count")).text, fmt.count(sc.expect.summary.count));

  // A reload keeps the sign-in (this tab's sessionStorage).
  await page.reload();
  await dayLoaded("ok", sc.today);
  check("after reload", (await summaryField("count")).text, fmt.count(sc.expect.summary.count));
  await waitFor(() => document.querySelectorAll("#history-chart g.day").length > 0, null, "the history chart");
  if (sc.orgName) {
    await waitFor(
      (name) => document.getElementById("tenants-table").textContent.includes(name),
      sc.orgName,
      "names",
    );
  }
  await screenshot(sc.screenshot);

  const apiCalls = requests.filter((r) => new URL(r.url).pathname.startsWith("/api/admin/analytics/"));
  ensure("analytics calls were made", apiCalls.length > 0);
  ensure(
    "every analytics call carries the bearer token",
    apiCalls.every((r) => r.headers.authorization === `Bearer ${sc.adminToken}`),
  );
  noTokenInUrls(sc.adminToken);

  // Rate limited before the fan-out (the service's 429 stood in for by the browser): the banner
  // says so with Retry-After, the figures stay, the sign-in is kept and nothing else is asked.
  const limited = async (route) =>
    route.fulfill({
      status: 429,
      headers: { "content-type": "application/problem+json", "retry-after": "42" },
      body: JSON.stringify({
        title: "Too Many Requests",
        status: 429,
        code: "rate_limited",
        detail: "Rate limit AUTH exceeded; retry in 42 s.",
      }),
    });
  await page.route("**/api/me", limited);
  allowErrors([/status of 429/]);
  const before = requests.length;
  await page.click("#refresh");
  await waitFor(() => /42 s/.test(document.getElementById("day-status")?.textContent || ""), null, "the 429 banner");
  const banner = await text("#day-status");
  ensure("a 429 says Retry-After in seconds", /Too many requests/.test(banner) && /try again in 42 s \(Retry-After\)/.test(banner), banner);
  await page.waitForTimeout(300); // a stray fan-out would show up by now
  const sent = requests.slice(before).map((r) => new URL(r.url).pathname);
  check("requests one Refresh sends when rate limited", JSON.stringify(sent), JSON.stringify(["/api/me"]));
  check("the figures stay", (await summaryField("count")).text, fmt.count(sc.expect.summary.count));
  ensure("still signed in", await page.locator("#dashboard").isVisible());
  log(`(the banner: ${banner})`);
  await page.unroute("**/api/me", limited);
  allowErrors([]);

  await page.click("#sign-out");
  await page.waitForSelector("#signin:not([hidden])");
  check("signed out: nothing kept", await page.evaluate(() => sessionStorage.getItem("unioneyes.admin.auth")), null);
}

async function org() {
  await context.addCookies([{ name: "__session", value: sc.sessionToken, url: base }]);
  await page.goto(`${base}/admin`);
  await page.waitForSelector("#signin:not([hidden])");
  await page.click("#use-session");
  await dayLoaded("ok", sc.today);
  check("who", await text("#whoami-label"), `Organization admin · ${sc.externalOrgId}`);
  check(
    "stored mode",
    await page.evaluate(() => sessionStorage.getItem("unioneyes.admin.auth")),
    JSON.stringify({ mode: "session" }),
  );
  for (const id of ["endpoints", "slow", "tenants"]) {
    ensure(`cross-tenant panel #${id} hidden`, await page.locator(`#${id}`).isHidden());
  }
  ensure("the organization's endpoints shown", await page.locator("#tenant-endpoints").isVisible());
  const d = sc.expect.detail;
  await checkSummary("tenant", d, SUMMARY_FIELDS);
  check("tenant endpoint rows", await page.locator("#tenant-endpoints-table tbody tr").count(), d.endpoints.length);
  for (const e of d.endpoints) {
    const row = `#tenant-endpoints-table tr[data-endpoint="${e.method} ${e.route}"]`;
    check(`tenant endpoint ${e.method} ${e.route}`, (await cell(row, "count")).text, fmt.count(e.count));
  }
  await waitFor(() => document.querySelectorAll("#history-chart g.day").length > 0, null, "the history chart");
  await historyCheck("tenant", [[sc.today, d.count], [sc.emptyDay, 0]]);
  const body = await page.evaluate(() => document.body.innerText);
  ensure("no other tenant is shown", !body.includes(sc.otherOrgId) && !body.includes("platform-admin"));

  await pickDate(sc.emptyDay);
  await dayLoaded("empty", sc.emptyDay);
  check("empty day", await text("#day-status"), `No requests recorded on ${sc.emptyDay}.`);
  await page.click("#today");
  await dayLoaded("ok", sc.today);
  await screenshot(sc.screenshot);

  const apiCalls = requests.filter((r) => new URL(r.url).pathname.startsWith("/api/"));
  ensure("no Authorization header in session mode", apiCalls.every((r) => !r.headers.authorization));
  const paths = new Set(apiCalls.map((r) => new URL(r.url).pathname));
  ensure(
    "only the own tenant's analytics are asked for",
    [...paths].every((p) => !p.startsWith("/api/admin/analytics/") || p === `/api/admin/analytics/tenants/${sc.orgId}`),
    [...paths].join(", "),
  );
  noTokenInUrls(sc.sessionToken);

  // The session expires with the page open: the cookie now holds a token our key signed whose
  // exp is past the 30 s leeway (the service has no shorter leeway to wait out). One Refresh
  // asks GET /api/me alone, is told token_expired and goes back to the form, forgetting the
  // stored sign-in; no panel's request goes out with the dead credential.
  await context.addCookies([{ name: "__session", value: sc.expiredSessionToken, url: base }]);
  allowErrors([/status of 401/]);
  const before = requests.length;
  await page.click("#refresh");
  await page.waitForSelector("#signin:not([hidden])");
  const why = await text("#signin-error");
  ensure("an expired session is explained", /Signed out/.test(why) && /token_expired/.test(why), why);
  await page.waitForTimeout(300); // a stray fan-out would show up by now
  const sent = requests.slice(before).map((r) => new URL(r.url).pathname);
  check("requests one Refresh sends with an expired session", JSON.stringify(sent), JSON.stringify(["/api/me"]));
  check(
    "the expired sign-in is forgotten",
    await page.evaluate(() => sessionStorage.getItem("unioneyes.admin.auth")),
    null,
  );
  // Signing in with it again is one more refused /api/me, and the form stays.
  const again = requests.length;
  await page.click("#use-session");
  await waitFor(
    () => /No signed-in session/.test(document.getElementById("signin-error")?.textContent || "") &&
      !document.getElementById("use-session").disabled,
    null,
    "the refused session",
  );
  check(
    "requests a refused session sign-in sends",
    JSON.stringify(requests.slice(again).map((r) => new URL(r.url).pathname)),
    JSON.stringify(["/api/me"]),
  );
  allowErrors([]);
  noTokenInUrls(sc.expiredSessionToken);
}

async function redisDown() {
  allowErrors([/status of 503/]);
  await page.goto(`${base}/admin`);
  await page.waitForSelector("#signin:not([hidden])");
  await page.fill("#token", sc.adminToken);
  await page.click("#token-submit");
  await dayLoaded("error");
  const status = await text("#day-status");
  ensure("the day says analytics is unavailable", /analytics_unavailable/.test(status) && /Redis/.test(status), status);
  await waitFor(
    () => !document.querySelector("#history .panel-msg").hidden &&
      !document.querySelector("#endpoints .panel-msg").hidden,
    null,
    "the panels' errors",
  );
  ensure("the history panel shows the problem", /analytics_unavailable/.test(await text("#history .panel-msg")));
  ensure("the endpoints panel shows the problem", /analytics_unavailable/.test(await text("#endpoints .panel-msg")));
  await waitFor(
    () => document.querySelector('#health-checks li[data-check="redis"]'),
    null,
    "health",
  );
  check("health status", await attr("#health-status", "data-status"), "degraded");
  check("redis check", await attr('#health-checks li[data-check="redis"]', "data-status"), "unhealthy");
  await screenshot(sc.screenshot);
}

export const scenarios = { platform, org, "redis-down": redisDown };
