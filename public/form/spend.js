// Spend: calls, images and cost per day as bar charts (inline SVG), a table by backend / model / caller / source with
// totals (GET /v1/usage), and the budget gauge (GET /v1/budget, where the deployment has one).
import { api, el, usd, when } from "./api.js";

const DAYS = 30;
const GROUP = ["backend", "model", "caller", "source"];
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

/** Which load is the latest: an older one that answers late must not paint over a newer one. */
let latestLoad = 0;

/** Forgets what the last load showed (the key was forgotten); a load still answering is dropped. */
export function clearSpend() {
  latestLoad++;
  for (const id of ["spend-chart", "spend-table", "budget", "spend-error"]) $(id).replaceChildren();
  $("budget").hidden = true;
}

export async function loadSpend() {
  const load = ++latestLoad;
  const since = new Date(Date.now() - (DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
  const [summary, report] = await Promise.all([api(`/v1/usage/summary?since=${since}`), api(`/v1/usage?since=${since}&group=${GROUP.join(",")}`)]);
  if (load !== latestLoad) return;
  $("spend-chart").replaceChildren(...dayCharts(summary.by_day, since));
  $("spend-table").replaceChildren(groupTable(report));
  await loadBudget(load);
}

/** What the per-day charts draw: calls and images say something even when every cost is $0. */
const METRICS = [
  { field: "calls", title: "Calls", format: (n) => String(n) },
  { field: "images", title: "Images", format: (n) => String(n) },
  { field: "cost_usd", title: "Cost", format: usd },
];

function dayCharts(byDay, since) {
  const days = Array.from({ length: DAYS }, (_, i) => new Date(Date.parse(`${since}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10));
  return METRICS.map((metric) => dayChart(metric, new Map(byDay.map((d) => [d.day, d[metric.field]])), days));
}

/** One bar per UTC day, oldest on the left; days without usage are zero-height bars. */
function dayChart(metric, values, days) {
  const max = Math.max(0, ...days.map((d) => values.get(d) ?? 0));
  const total = days.reduce((sum, d) => sum + (values.get(d) ?? 0), 0);
  const [width, height, bar] = [DAYS * 12, 60, 10];
  const titleId = `spend-chart-${metric.field}`;
  const summary = `${metric.title}: ${metric.format(total)} in 30 days, at most ${metric.format(max)} a day`;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height + 16}`, role: "img", class: "chart", "data-metric": metric.field, "aria-labelledby": titleId });
  svg.append(svgEl("title", {}, `${summary}, since ${days[0]}`));
  days.forEach((day, i) => {
    const value = values.get(day) ?? 0;
    const h = max > 0 ? Math.max(value > 0 ? 1 : 0, Math.round((value / max) * height)) : 0;
    const rect = svgEl("rect", { x: i * 12 + 1, y: height - h, width: bar, height: h, class: "bar", "data-day": day });
    rect.append(svgEl("title", {}, `${day}: ${metric.format(value)}`));
    svg.append(rect);
  });
  svg.append(svgEl("line", { x1: 0, y1: height + 0.5, x2: width, y2: height + 0.5, class: "axis" }));
  svg.append(svgEl("text", { x: 0, y: height + 14, class: "label" }, days[0]));
  svg.append(svgEl("text", { x: width, y: height + 14, class: "label end" }, days.at(-1)));
  return el("figure", { class: "day-chart" }, el("figcaption", { id: titleId }, summary), svg);
}

function svgEl(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function groupTable(report) {
  const head = el(
    "tr",
    {},
    [...GROUP, "calls", "failed", "images", "cost"].map((h) => el("th", { scope: "col" }, h)),
  );
  const rows = report.groups.map((g) =>
    el(
      "tr",
      {},
      GROUP.map((k) => el("td", {}, g.group[k] ?? "—")),
      el("td", { class: "num" }, g.calls),
      el("td", { class: "num" }, g.failed),
      el("td", { class: "num" }, g.images),
      el("td", { class: "num" }, usd(g.cost_usd)),
    ),
  );
  const t = report.totals;
  const totals = el(
    "tr",
    { class: "totals" },
    el("th", { scope: "row", colspan: GROUP.length }, "Total"),
    el("td", { class: "num" }, t.calls),
    el("td", { class: "num" }, t.failed),
    el("td", { class: "num" }, t.images),
    el("td", { class: "num" }, usd(t.cost_usd)),
  );
  return el(
    "table",
    {},
    el("thead", {}, head),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: GROUP.length + 4 }, "No usage in this period."))),
    el("tfoot", {}, totals),
  );
}

/** The budget gauges (GET /v1/budget): today's and this month's spend against the caps. */
async function loadBudget(load) {
  const budget = await api("/v1/budget");
  if (load !== latestLoad) return;
  const box = $("budget");
  box.replaceChildren(...["daily", "monthly"].flatMap((period) => periodGauge(period, budget[period])));
  box.hidden = false;
}

/** One period of GET /v1/budget: a gauge when it has a cap, else one line of what was spent. */
function periodGauge(period, p) {
  const used = p.spent_usd + p.reserved_usd;
  const inFlight = p.reserved_usd > 0 ? ` (+${usd(p.reserved_usd)} in flight)` : "";
  if (p.cap_usd === null) return [el("p", { class: "note", "data-period": period }, `No ${period} cap; ${usd(p.spent_usd)} spent${inFlight}.`)];
  const id = `budget-${period}`;
  return [
    el("label", { for: id }, `Budget (${period}): ${usd(p.spent_usd)} of ${usd(p.cap_usd)} spent${inFlight}`),
    el("meter", { id, min: 0, max: p.cap_usd, value: Math.min(used, p.cap_usd), high: p.cap_usd * 0.8, optimum: 0 }),
    el("p", { class: "note" }, `${usd(p.remaining_usd)} left; resets ${when(p.resets_at)}.`),
  ];
}
