// UnionEyes admin dashboard: the history chart, served at /admin/chart.js. One bar per day of
// the retention window as inline SVG (requests with errors in red, or p95 / p99 / error rate),
// the day shown highlighted; a click on a day's column picks that day (see onDayPicked).

import * as fmt from "/admin/format.js";
import { $, el, svg } from "/admin/dom.js";
import { oldest, state } from "/admin/state.js";

/** What a click on a day's column does: set once by dashboard.js (show that day). */
let pickDay = () => {};

export function onDayPicked(handler) {
  pickDay = handler;
}

/**
 * The axis maximum: `v` rounded up to 1, 2, 2.5 or 5 times a power of ten; for whole counts
 * (`whole`) 1, 2, 4 or 5 times a power of ten, never below 1: a count whose quarters mostly are too.
 */
export function niceMax(v, whole = false) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  const steps = whole ? [1, 2, 4, 5, 10] : [1, 2, 2.5, 5, 10];
  for (const m of steps) if (m * p >= v) return whole ? Math.max(1, Math.round(m * p)) : m * p;
  return 10 * p;
}

export function drawHistory() {
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
  const whole = metric === "count";
  const max = niceMax(Math.max(0, ...points.map((p) => value(p) ?? 0)), whole);
  const y = (v) => m.t + plotH - (v / max) * plotH;
  const band = points.length ? plotW / points.length : plotW;
  const barW = Math.max(2, band * 0.72);

  const chart = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "history-svg",
    role: "img",
    "aria-label": `${$("history-metric").selectedOptions[0]?.text || metric} per day, ${points[0]?.date ?? ""} to ${points.at(-1)?.date ?? ""}`,
  });
  // Counts get gridlines only where the value is a whole number (no "0, 0, 1, 1, 1" axis).
  const fracs = [0, 0.25, 0.5, 0.75, 1].filter((f) => !whole || Number.isInteger(max * f));
  for (const frac of fracs) {
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
    hit.addEventListener("click", () => pickDay(p.date));
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
