// monitoring.js: an external key store's Monitoring section, AWS's five
// graphs drawn as plain SVG from Simulator.GetMetricData (namespace
// AWS/KMS): Total requests, Reliability, Latency, Top 5 exceptions and
// Certificate days to expire, over 1h 3h 12h 1d 3d or 1w of the sandbox's
// virtual time. Loaded by keys.js the first time an external key store's
// page is shown. The graphs' frames are templ's (site/keys.templ); this
// only adds SVG shapes and legend items, never HTML text.
import { $, $$, ui, api } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 440;
const H = 180;
const PLOT = { left: 46, right: 430, top: 12, bottom: 150 };
const COLORS = ["#0972d3", "#ec7211", "#037f0c", "#d91515", "#8456ce", "#00819c", "#5f6b7a"];
const RANGE_TEXT = { 3600: "last hour", 10800: "last 3 hours", 43200: "last 12 hours", 86400: "last day", 259200: "last 3 days", 604800: "last week" };
// periodFor keeps each graph at a readable number of points, as the AWS
// console does: 5 minutes up to a day, then 15 minutes and an hour.
const periodFor = (range) => (range <= 86400 ? 300 : range <= 259200 ? 900 : 3600);

const mon = { range: 10800, storeId: "", fetchedAt: 0, fetching: false, data: null, key: "" };
let wired = false;

function wire(section) {
  if (wired) return;
  wired = true;
  section.addEventListener("click", (e) => {
    const b = e.target.closest("[data-range]");
    if (!b) return;
    mon.range = Number(b.dataset.range);
    for (const x of $$("[data-range]", section)) x.setAttribute("aria-pressed", String(x === b));
    mon.fetchedAt = 0;
    renderMonitoring(section, ui.stores.find((s) => s.CustomKeyStoreId === mon.storeId));
  });
}

async function metric(storeId, name, stat, groupBy, start, end, period) {
  const r = await api("Simulator.GetMetricData", {
    MetricName: name, Dimensions: { CustomKeyStoreId: storeId }, GroupBy: groupBy, Stat: stat, StartTime: start, EndTime: end, Period: period,
  }, { quiet: true });
  return r.status === 200 ? (r.body.Series || []).filter((s) => s.Values && s.Values.length) : [];
}

const sum = (a) => a.reduce((x, y) => x + y, 0);

// load reads the five graphs' data for the store and the chosen range.
async function load(s) {
  // The sandbox's time now, not as of the last poll: calls made since then
  // must fall inside the range.
  const clock = await api("Simulator.DescribeClock", {}, { quiet: true });
  const now = Math.ceil(clock.status === 200 ? clock.body.Now : (ui.clock && ui.clock.Now) || Date.now() / 1000);
  const period = periodFor(mon.range);
  const start = Math.floor((now - mon.range) / period) * period;
  const id = s.CustomKeyStoreId;
  const [total, byType, latency, byException, certs] = [
    await metric(id, "XksProxyErrors", "Sum", [], start, now, period),
    await metric(id, "XksProxyErrors", "Sum", ["ErrorType"], start, now, period),
    await metric(id, "XksProxyLatency", "Average", ["KmsOperation", "XksOperation"], start, now, period),
    await metric(id, "XksProxyErrors", "Sum", ["ExceptionName"], start, now, period),
    await metric(id, "XksProxyCertificateDaysToExpire", "Minimum", ["CertificateName"], start, now, period),
  ];
  // Reliability: successes and non-retryable errors over all responses.
  const perTime = new Map();
  for (const series of byType) {
    const retry = (series.Dimensions || {}).ErrorType === "Retryable errors";
    series.Timestamps.forEach((t, i) => {
      const e = perTime.get(t) || { all: 0, retry: 0 };
      e.all += series.Values[i];
      if (retry) e.retry += series.Values[i];
      perTime.set(t, e);
    });
  }
  const times = [...perTime.keys()].sort((a, b) => a - b);
  const reliability = times.length ? [{ Label: "Reliability", Timestamps: times, Values: times.map((t) => { const e = perTime.get(t); return e.all ? (100 * (e.all - e.retry)) / e.all : 100; }) }] : [];
  const label = (series, dims) => dims.map((d) => (series.Dimensions || {})[d] || "–").join(" / ");
  const mean = (series) => sum(series.Values) / series.Values.length;
  return {
    start, end: now, period,
    requests: total.map((x) => ({ ...x, Label: "Requests" })),
    reliability,
    latency: latency.map((x) => ({ ...x, Label: label(x, ["KmsOperation", "XksOperation"]) })).sort((a, b) => mean(b) - mean(a)),
    exceptions: byException.filter((x) => (x.Dimensions || {}).ExceptionName !== "None")
      .map((x) => ({ ...x, Label: label(x, ["ExceptionName"]) }))
      .sort((a, b) => sum(b.Values) - sum(a.Values)).slice(0, 5),
    certificate: certs.map((x) => ({ ...x, Label: label(x, ["CertificateName"]) })),
  };
}

const UNITS = { requests: "", reliability: "%", latency: " ms", exceptions: "", certificate: " days" };

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.append(e);
  return e;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v, unit) {
  const n = Math.abs(v) >= 100 || Number.isInteger(v) ? Math.round(v) : Math.round(v * 10) / 10;
  return `${n.toLocaleString()}${unit}`;
}

function timeLabel(t, range) {
  const d = new Date(t * 1000);
  const hm = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return range > 86400 ? `${d.toLocaleDateString([], { month: "2-digit", day: "2-digit" })} ${hm}` : hm;
}

// draw renders one graph's series into its figure, or "No data available".
function draw(fig, key, series, d) {
  const svg = $("[data-chart]", fig);
  const legend = $("[data-legend]", fig);
  const none = !series.length;
  $("[data-nodata]", fig).hidden = !none;
  svg.toggleAttribute("hidden", none); // SVG elements have no hidden property
  legend.replaceChildren();
  svg.replaceChildren();
  fig.dataset.series = String(series.length);
  fig.dataset.points = String(sum(series.map((x) => x.Values.length)));
  if (none) return;
  const unit = UNITS[key];
  const all = series.flatMap((x) => x.Values);
  const top = key === "reliability" ? 100 : niceMax(Math.max(...all));
  const x = (t) => PLOT.left + ((t - d.start) / Math.max(1, d.end - d.start)) * (PLOT.right - PLOT.left);
  const y = (v) => PLOT.bottom - (v / top) * (PLOT.bottom - PLOT.top);
  const axis = el("g", { class: "axis" }, svg);
  for (const v of [0, top / 2, top]) {
    el("line", { x1: PLOT.left, x2: PLOT.right, y1: y(v), y2: y(v), class: "grid" }, axis);
    const t = el("text", { x: PLOT.left - 4, y: y(v) + 4, "text-anchor": "end" }, axis);
    t.textContent = fmt(v, unit === "%" ? "%" : "");
  }
  for (let i = 0; i <= 3; i++) {
    const t = d.start + ((d.end - d.start) * i) / 3;
    const lbl = el("text", { x: x(t), y: H - 12, "text-anchor": i === 0 ? "start" : i === 3 ? "end" : "middle" }, axis);
    lbl.textContent = timeLabel(t, d.end - d.start);
  }
  const summary = [];
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.Timestamps.map((t, j) => [x(Math.min(t + d.period / 2, d.end)), y(s.Values[j])]);
    if (pts.length > 1) el("path", { d: pts.map((p, j) => `${j ? "L" : "M"}${p[0].toFixed(1)} ${p[1].toFixed(1)}`).join(" "), stroke: color, fill: "none", "stroke-width": 2 }, svg);
    // Points, each with its value as a tooltip, while there are few enough to tell apart.
    if (pts.length <= 24) {
      pts.forEach((p, j) => {
        const dot = el("circle", { cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 3, fill: color }, svg);
        el("title", {}, dot).textContent = `${s.Label}, ${timeLabel(s.Timestamps[j], d.end - d.start)}: ${fmt(s.Values[j], unit)}`;
      });
    }
    const last = s.Values[s.Values.length - 1];
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = color;
    li.append(sw, document.createTextNode(`${s.Label}: ${fmt(last, unit)} (latest)`));
    li.dataset.testid = "legend-item";
    legend.append(li);
    summary.push(`${s.Label} ${fmt(last, unit)}`);
  });
  svg.setAttribute("aria-label", `${$("figcaption strong", fig).textContent}, ${RANGE_TEXT[d.end - d.start] || ""}: latest ${summary.join("; ")}`);
}

function drawAll(section, s) {
  const d = mon.data;
  const off = !s || s.ConnectionState === "DISCONNECTED" || !d;
  section.setAttribute("aria-busy", String(!d && mon.fetching));
  const drawn = `${mon.key} ${off} ${section.dataset.loaded || 0}`;
  if (drawn === mon.drawn) return;
  mon.drawn = drawn;
  for (const fig of $$("[data-graph]", section)) draw(fig, fig.dataset.graph, off ? [] : d[fig.dataset.graph] || [], d || {});
}

// renderMonitoring brings the graphs up to date: it reads the metrics again
// when the page is opened (entered), the store or the range changes, and
// every few seconds otherwise.
export function renderMonitoring(section, s, entered = false) {
  wire(section);
  if (!s) return;
  if (entered) {
    mon.data = null;
    mon.key = "";
  }
  $("[data-mon-range]", section).textContent = RANGE_TEXT[mon.range];
  const p = periodFor(mon.range);
  $("[data-mon-period]", section).textContent = p === 3600 ? "1 hour" : `${p / 60} minutes`;
  section.dataset.range = String(mon.range);
  const key = `${s.CustomKeyStoreId} ${mon.range} ${s.ConnectionState}`;
  if (key !== mon.key) {
    mon.key = key;
    mon.fetchedAt = 0;
    if (s.CustomKeyStoreId !== mon.storeId) mon.data = null;
    mon.storeId = s.CustomKeyStoreId;
  }
  drawAll(section, s);
  if (mon.fetching || Date.now() - mon.fetchedAt < 3000) return;
  mon.fetching = true;
  mon.fetchedAt = Date.now();
  const range = mon.range;
  load(s).then((d) => {
    if (range !== mon.range || s.CustomKeyStoreId !== mon.storeId) return;
    mon.data = d;
    section.dataset.loaded = String(Number(section.dataset.loaded || 0) + 1);
    drawAll(section, ui.stores.find((x) => x.CustomKeyStoreId === mon.storeId));
  }).finally(() => {
    mon.fetching = false;
  });
}
