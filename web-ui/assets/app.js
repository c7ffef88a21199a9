// Lantern web UI: plain JS, no build step, no external resources. Everything the user typed or
// the node returned is inserted as text (never as HTML).
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);

/** Builds an element: h("td", {class: "num", title: "x"}, "text", child…). */
function h(tag, attrs = {}, ...children) {
  const ns = ["svg", "line", "polyline", "text", "title", "desc", "g", "rect", "circle"].includes(tag)
    ? "http://www.w3.org/2000/svg" : null;
  const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    // Through the CSSOM: the page's CSP forbids style attributes.
    else if (k === "style") for (const decl of String(v).split(";")) {
      const at = decl.indexOf(":");
      if (at > 0) el.style.setProperty(decl.slice(0, at).trim(), decl.slice(at + 1).trim());
    }
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const state = { token: sessionStorage.getItem("lantern-token") || "", vocab: null, node: null };

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super((e.message || `HTTP ${status}`) + (e.field ? ` (field: ${e.field})` : ""));
    this.status = status;
    this.field = e.field;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) { signOut(); throw new ApiError(401, await res.json().catch(() => null)); }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function monthString(d) { return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`; }
function lastTwelveMonths() {
  const now = new Date();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1));
  return `${monthString(from)}..${monthString(now)}`;
}
/** Periods to pick from (the field takes any other): this month, quarter and year, the last
 *  12 and 24 months, the last full year. */
function periodPresets() {
  const now = new Date();
  const month = monthString(now), year = now.getUTCFullYear();
  return [
    [lastTwelveMonths(), "the last 12 months"],
    [`${addMonths(month, -23)}..${month}`, "the last 24 months"],
    [month, "this month"],
    [`${year}-Q${Math.floor(now.getUTCMonth() / 3) + 1}`, "this quarter"],
    [String(year), "this year"],
    [String(year - 1), "last year"],
  ];
}
function addMonths(ym, n) {
  const [y, m] = ym.split("-").map(Number);
  return monthString(new Date(Date.UTC(y, m - 1 + n, 1)));
}
const short = (hex) => (hex || "").slice(0, 12);
const errorBox = (e) => h("p", { class: "error", role: "alert" }, e.message || String(e));

function page(title, ...children) {
  const root = $("#page");
  root.replaceChildren(h("h1", {}, title), ...children);
  document.title = `${title} · Lantern`;
  return root;
}

// ---------- sign in ----------

function signOut() {
  state.token = "";
  sessionStorage.removeItem("lantern-token");
  route();
}

async function signIn(token) {
  state.token = token.trim();
  try {
    state.node = await api("GET", "/node");
    state.vocab = await api("GET", "/vocabulary");
    // An analyst token may query patterns only: its menu holds what it may use.
    state.analyst = state.node.caller === "analyst";
    document.querySelectorAll("nav a").forEach((a) => { a.hidden = state.analyst && MEMBER_PAGES.includes(a.dataset.page); });
    sessionStorage.setItem("lantern-token", state.token);
    $("#footer-node").textContent =
      `${state.node.federation_name} · member ${short(state.node.member)} · k = ${state.node.k_threshold} · v${state.node.version}`;
    return true;
  } catch (e) {
    state.token = "";
    $("#signin-error").textContent = e.status === 401 ? "That token is not valid for this node." : e.message;
    return false;
  }
}

// ---------- charts ----------

const COLOURS = ["#b45309", "#1d4ed8", "#15803d", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#a16207"];

/** A line chart of series [{name, points: [{period, value|null}]}]; gaps where value is null. */
function lineChart(series, { label }) {
  const W = 640, H = 240, L = 40, R = 10, T = 10, B = 40;
  const periods = series.length ? series[0].points.map((p) => p.period) : [];
  const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.value || 0)));
  const x = (i) => L + (periods.length < 2 ? 0 : (i * (W - L - R)) / (periods.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = h("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, width: "100%" },
    h("title", {}, label),
    h("desc", {}, series.map((s) => `${s.name}: ${s.points.map((p) => `${p.period} ${p.value ?? "suppressed"}`).join(", ")}`).join("; ")),
    h("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#d9dde3" }),
    h("text", { x: 4, y: y(max) + 4 }, String(max)), h("text", { x: 4, y: y(0) + 4 }, "0"));
  const every = Math.max(1, Math.ceil(periods.length / 8));
  periods.forEach((p, i) => { if (i % every === 0) svg.append(h("text", { x: x(i) - 16, y: H - 20 }, p)); });
  series.forEach((s, si) => {
    let run = [];
    const flush = () => {
      if (run.length > 1) svg.append(h("polyline", { points: run.join(" "), fill: "none", stroke: COLOURS[si % COLOURS.length], "stroke-width": 2 }));
      if (run.length === 1) { const [cx, cy] = run[0].split(","); svg.append(h("circle", { cx, cy, r: 2.5, fill: COLOURS[si % COLOURS.length] })); }
      run = [];
    };
    s.points.forEach((p, i) => { if (p.value === null) flush(); else run.push(`${x(i)},${y(p.value)}`); });
    flush();
  });
  const legend = h("div", { class: "legend" }, series.map((s, i) => h("span", { style: `--c:${COLOURS[i % COLOURS.length]}` }, s.name)));
  return h("div", {}, svg, legend);
}

// ---------- dashboard ----------

const FILTER_DIMENSIONS = [
  ["", "No filter", null], ["outcome", "Outcome", "outcomes"], ["org_type", "Organisation type", "org_types"],
  ["region", "Region", "regions"], ["resource_kind", "Resource kind", "resource_kinds"], ["resource", "Resource size", "resource_sizes"],
];

async function dashboard(params) {
  const period = params.get("period") || lastTwelveMonths();
  const dim = params.get("dim") || "";
  const value = params.get("value") || "";
  const show = params.get("show") || "operators";
  const filter = dim && value ? `${dim}=${value}` : "";
  const valueSelect = h("select", { name: "value", "aria-label": "Filter value" });
  const fillValues = (d) => {
    const entry = FILTER_DIMENSIONS.find((f) => f[0] === d);
    valueSelect.replaceChildren(...(entry && entry[2] ? state.vocab[entry[2]] : []).map((v) => h("option", { value: v, selected: v === value }, v)));
    valueSelect.disabled = !entry || !entry[2];
  };
  const dimSelect = h("select", { name: "dim", onchange: (e) => fillValues(e.target.value) },
    FILTER_DIMENSIONS.map(([k, label]) => h("option", { value: k, selected: k === dim }, label)));
  fillValues(dim);
  const form = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const q = new URLSearchParams({ period: f.get("period"), dim: f.get("dim") || "", value: f.get("value") || "", show: f.get("show") });
    location.hash = `#/dashboard?${q}`;
  } },
    h("label", {}, "Period", h("input", { name: "period", value: period, size: 18, list: "period-presets", title: "YYYY-MM, YYYY-Qn, YYYY or FROM..TO" }),
      h("datalist", { id: "period-presets" }, periodPresets().map(([v, label]) => h("option", { value: v }, label)))),
    h("label", {}, "Filter", dimSelect), h("label", {}, "Value", valueSelect),
    h("label", {}, "Show", h("select", { name: "show" }, ["operators", "cases"].map((s) => h("option", { value: s, selected: s === show }, s)))),
    h("button", { type: "submit" }, "Apply"));
  const root = page("Dashboard", form, h("p", { class: "muted" }, "Loading…"));
  const q = new URLSearchParams({ period });
  if (filter) q.set("filter", filter);
  const until = period.includes("..") ? period.split("..")[1] : null;
  try {
    const only = new URLSearchParams({ period });
    const [matrix, trends, emerging, durations, cooccurrence] = await Promise.all([
      api("GET", `/patterns/matrix?${q}`),
      api("GET", `/patterns/trends?${q}&by=category&step=quarter`),
      api("GET", `/patterns/emerging${until && /^\d{4}-\d{2}$/.test(until) ? `?until=${until}` : ""}`),
      api("GET", `/patterns/durations?${only}`),
      api("GET", `/patterns/cooccurrence?${only}`),
    ]);
    root.lastChild.remove();
    const emergingPath = `/patterns/emerging${until && /^\d{4}-\d{2}$/.test(until) ? `?until=${until}` : ""}`;
    root.append(
      withDownloads(heatmap(matrix, show), `/patterns/matrix?${q}`, "matrix"),
      withDownloads(trendCard(trends), `/patterns/trends?${q}&by=category&step=quarter`, "trends"),
      withDownloads(emergingCard(emerging), emergingPath, "emerging"),
      withDownloads(durationsCard(durations), `/patterns/durations?${only}`, "durations"),
      withDownloads(cooccurrenceCard(cooccurrence), `/patterns/cooccurrence?${only}`, "cooccurrence"));
  } catch (e) {
    root.lastChild.replaceWith(errorBox(e));
  }
}

/** A card with CSV and JSON downloads of the figures it shows (the API's, k-suppressed alike). */
function withDownloads(card, path, name) {
  const out = h("span", { class: "error", role: "alert" });
  const get = (format) => async () => {
    out.textContent = "";
    try {
      const sep = path.includes("?") ? "&" : "?";
      const res = await fetch(`/api/v1${path}${sep}format=${format}`, { headers: { Authorization: `Bearer ${state.token}` } });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      const url = URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: `lantern-${name}.${format}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) { out.textContent = e.message; }
  };
  card.append(h("div", { class: "row downloads" }, h("span", { class: "muted" }, "Download:"),
    h("button", { type: "button", class: "secondary", "data-download": "csv", onclick: get("csv") }, "CSV"),
    h("button", { type: "button", class: "secondary", "data-download": "json", onclick: get("json") }, "JSON"), out));
  return card;
}

function heatmap(matrix, show) {
  const shown = (x) => !x.suppressed;
  const rowTotal = new Map(matrix.registries.map((t) => [t.registry, t]));
  const colTotal = new Map(matrix.categories.map((t) => [t.category, t]));
  const cells = matrix.cells.filter(shown);
  // A registry or category appears when any of its cells, or its total, can be shown.
  const registries = state.vocab.registries.filter((r) => cells.some((c) => c.registry === r) || shown(rowTotal.get(r)));
  const categories = state.vocab.categories.filter((c) => cells.some((x) => x.category === c) || shown(colTotal.get(c)));
  const max = Math.max(1, ...cells.map((c) => c[show]));
  const what = show === "cases" ? "cases" : "operators";
  const card = h("section", { class: "card", "aria-labelledby": "heat-title" },
    h("h2", { id: "heat-title" }, `Registry × incident category: distinct ${what}, ${matrix.period}${matrix.filter ? `, ${matrix.filter}` : ""}`));
  const widen = matrix.filter ? "Remove the filter or choose a longer period to see more." : "A longer period shows more.";
  if (!registries.length) {
    card.append(h("p", { class: "muted", id: "heatmap-empty" },
      `No group reaches ${matrix.k} distinct operators in this period, not even a registry's or a category's total. ${widen}`));
    return card;
  }
  const byKey = new Map(matrix.cells.map((c) => [`${c.registry}|${c.category}`, c]));
  const figure = (x, label, attrs, shade) => {
    if (!shown(x)) {
      return h("td", { class: "cell suppressed", ...attrs, "data-suppressed": "true", title: `${label}: hidden, fewer than ${matrix.k} operators` },
        h("span", { class: "sr-only" }, "hidden"), "·");
    }
    const alpha = shade ? 0.12 + 0.78 * (x[show] / max) : 0;
    // A member follows a figure to the summaries it counts (Browse, filtered the same way).
    const filter = { registry: attrs["data-registry"] || "", category: attrs["data-category"] || "" };
    const text = String(x[show]);
    const content = state.analyst ? text
      : h("a", { href: `#/browse?${new URLSearchParams(filter)}`, "aria-label": `${label}: ${x.operators} operators, ${x.cases} cases; show the summaries` }, text);
    return h("td", { class: shade ? "cell" : "cell total", ...attrs, "data-operators": x.operators, "data-cases": x.cases,
      style: shade ? `background: rgba(180, 83, 9, ${alpha.toFixed(2)}); color: ${alpha > 0.55 ? "#fff" : "inherit"}` : "",
      title: `${label}: ${x.operators} operators, ${x.cases} cases` }, content);
  };
  const table = h("table", { class: "heatmap", id: "heatmap" },
    h("caption", { class: "sr-only" }, "Registry by incident category, with totals"),
    h("thead", {}, h("tr", {}, h("th", {}, "Registry"), categories.map((c) => h("th", { class: "col", scope: "col" }, c)), h("th", { class: "col", scope: "col" }, "All categories"))),
    h("tbody", {},
      registries.map((r) => h("tr", {}, h("th", { scope: "row" }, r),
        categories.map((c) => figure(byKey.get(`${r}|${c}`), `${r} × ${c}`, { "data-registry": r, "data-category": c }, true)),
        figure(rowTotal.get(r), `${r}, all categories`, { "data-registry": r, "data-total": "registry" }, false))),
      h("tr", { class: "totals" }, h("th", { scope: "row" }, "All registries"),
        categories.map((c) => figure(colTotal.get(c), `${c}, all registries`, { "data-category": c, "data-total": "category" }, false)),
        h("td", {}))));
  card.append(h("div", { class: "scroll" }, table), h("p", { class: "muted", id: "heatmap-note" },
    `Hatched: fewer than ${matrix.k} distinct operators, so hidden. Figures carry a little random noise (usually ±1–2), so that no group ` +
    `smaller than ${matrix.k} operators can be worked out by comparing figures; totals count each case once. ${widen}`));
  // Hidden and empty look alike on purpose: which registries have a few cases is itself a secret.
  const hidden = state.vocab.registries.filter((r) => !registries.includes(r));
  if (hidden.length) {
    card.append(h("p", { class: "muted", id: "heatmap-hidden" },
      `Not shown: ${hidden.join(", ")}: each has fewer than ${matrix.k} operators here, or none. ${widen}`));
  }
  return card;
}

function trendCard(trends) {
  const totals = trends.series.map((s) => [s, s.points.reduce((a, p) => a + (p.cases || 0), 0)]).filter(([, t]) => t > 0);
  totals.sort((a, b) => b[1] - a[1]);
  const top = totals.slice(0, 6).map(([s]) => ({ name: s.name, points: s.points.map((p) => ({ period: p.period, value: p.suppressed ? null : p.cases })) }));
  const card = h("section", { class: "card" }, h("h2", {}, `Trends: cases per quarter, top categories (${trends.period})`));
  if (!top.length) card.append(h("p", { class: "muted" }, `Nothing to show: no category reaches ${trends.k} operators in any quarter. A longer period shows more.`));
  else card.append(lineChart(top, { label: `Cases per quarter for the ${top.length} largest categories` }));
  return card;
}

function emergingCard(e) {
  const card = h("section", { class: "card", id: "emerging" },
    h("h2", {}, `Emerging patterns: last ${e.recent_months} months to ${e.until} against the ${e.baseline_months} before`));
  if (!e.pairs.length) { card.append(h("p", { class: "muted" }, "No registry × category pair is clearly above its baseline.")); return card; }
  card.append(h("table", {}, h("thead", {}, h("tr", {}, ["Registry", "Category", "Recent cases", "Expected", "Ratio", "Operators"].map((t) => h("th", {}, t)))),
    h("tbody", {}, e.pairs.map((p) => h("tr", {}, h("td", {}, p.registry), h("td", {}, p.category), h("td", { class: "num" }, p.recent_cases),
      h("td", { class: "num" }, p.expected.toFixed(1)), h("td", { class: "num" }, `×${p.ratio.toFixed(1)}`), h("td", { class: "num" }, p.operators))))));
  return card;
}

/** Time to resolution per registry × category, with the outcomes' shares; groups under k hidden. */
function durationsCard(d) {
  const card = h("section", { class: "card", id: "durations" }, h("h2", {}, `Time to resolution, ${d.period}`));
  if (!d.rows.length) { card.append(h("p", { class: "muted" }, `No registry × category pair reaches ${d.k} operators in this period.`)); return card; }
  const months = (m) => (m === null || m === undefined ? "–" : `${m} mo`);
  card.append(h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, ["Registry", "Category", "Operators", "Cases", "Resolved", "Median", "90th percentile", "Outcomes"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, d.rows.map((r) => h("tr", {}, h("td", {}, r.registry), h("td", {}, r.category), h("td", { class: "num" }, r.operators),
      h("td", { class: "num" }, r.cases), h("td", { class: "num" }, r.resolved ?? "–"), h("td", { class: "num" }, months(r.median_months)),
      h("td", { class: "num" }, months(r.p90_months)),
      h("td", { class: "wrap" }, r.outcomes.map((o) => `${o.outcome} ${Math.round(o.share * 100)} %`).join(", "))))))),
    h("p", { class: "muted" }, `Median and 90th percentile only where the resolved cases come from at least ${d.k} operators.`));
  return card;
}

/** Which incident categories come together in one case. */
function cooccurrenceCard(c) {
  const card = h("section", { class: "card", id: "cooccurrence" }, h("h2", {}, `Categories that come together, ${c.period}`));
  const shown = c.pairs.filter((p) => !p.suppressed);
  if (!shown.length) { card.append(h("p", { class: "muted" }, `No pair of categories reaches ${c.k} operators in this period.`)); return card; }
  card.append(h("table", {}, h("thead", {}, h("tr", {}, ["Categories", "Operators", "Cases"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, shown.map((p) => h("tr", {}, h("td", {}, p.categories.join(" + ")), h("td", { class: "num" }, p.operators), h("td", { class: "num" }, p.cases))))));
  return card;
}

/** The coarser forms a summary can be published in, as checkboxes (ids are the API's fields). */
const SHAPE_FIELDS = [
  ["omit_impact", "Leave the impact out"], ["start_quarter", "Give the start as its quarter"],
  ["offsets_in_quarters", "Give the stages in whole quarters"], ["omit_narrative", "Leave the narrative out"],
  ["attributed", "Sign with my member key (names this member; a new case is anonymous otherwise)"],
];

function shapeBoxes(proposed) {
  return SHAPE_FIELDS.map(([k, label]) => h("label", {}, h("input", { type: "checkbox", id: k, checked: Boolean(proposed[k]) }), ` ${label}`));
}

/** How many held summaries of other operators look like the one about to be signed. */
function crowdView(c, forms) {
  const warn = c.alone_from
    ? `From “${c.alone_from}” on, fewer than ${c.k} other operators' summaries look like this one: anyone holding the matching ticket (the registry itself) could tell it is yours.`
    : `At least ${c.k} other operators' summaries look like this one in every field.`;
  return h("section", { id: "crowd" },
    h("h2", {}, "Who else looks like this"),
    h("p", { class: c.alone_from ? "error" : "muted" }, warn),
    h("table", {}, h("thead", {}, h("tr", {}, ["Also matching", "Summaries", "Operators"].map((t) => h("th", {}, t)))),
      h("tbody", {}, c.levels.map((l) => h("tr", { class: l.operators < c.k ? "thin" : "" }, h("td", {}, `+ ${l.field}`),
        h("td", { class: "num" }, l.summaries), h("td", { class: "num" }, l.operators))))),
    forms && h("table", { id: "forms" }, h("thead", {}, h("tr", {}, ["Published as", "Operators alike in every field"].map((t) => h("th", {}, t)))),
      h("tbody", {}, forms.forms.map((f, i) => h("tr", { class: i === forms.proposed ? "proposed" : "" },
        h("td", {}, [f.shape.omit_impact && "no impact", f.shape.start_quarter && "start quarter", f.shape.offsets_in_quarters && "stages in quarters"].filter(Boolean).join(", ") || "as is"),
        h("td", { class: "num" }, f.operators))))),
    forms && h("p", { class: forms.in_crowd ? "muted" : "error" }, forms.in_crowd
      ? "The boxes below are set to the finest form that keeps this summary among k other operators' summaries."
      : `Even the coarsest form stays among fewer than ${c.k} other operators' summaries: consider waiting, or publishing only if the registry learning it is yours is acceptable.`),
    h("p", { class: "muted" }, "The narrative, if published, is a story only its author and the registry know."));
}

// ---------- publish ----------

function caseForm(existing, onSaved) {
  const c = existing ? existing.case : { title: "", registry: state.vocab.registries[0], categories: [], opened: new Date().toISOString().slice(0, 10), outcome: "open", resources: [], timeline: [], narrative: "", tags: [] };
  const select = (name, options, value) => h("select", { name }, options.map((o) => h("option", { value: o, selected: o === value }, o)));
  const form = h("form", { class: "card", id: "case-form" },
    h("h2", {}, existing ? `Edit case ${existing.id}` : "New private case"),
    h("p", { class: "muted" }, "A private case stays on this node. Only the anonymised summary you confirm is ever published."),
    h("div", { class: "form-grid" },
      h("label", {}, "Title (private)", h("input", { name: "title", value: c.title, required: true, maxlength: 200 })),
      h("label", {}, "Registry", select("registry", state.vocab.registries, c.registry)),
      h("label", {}, "Opened", h("input", { name: "opened", type: "date", value: c.opened, required: true })),
      h("label", {}, "Outcome", select("outcome", state.vocab.outcomes, c.outcome))),
    h("fieldset", {}, h("legend", {}, "Incident categories"), h("div", { class: "checks" },
      state.vocab.categories.map((cat) => h("label", {}, h("input", { type: "checkbox", name: "categories", value: cat, checked: c.categories.includes(cat) }), cat)))),
    h("label", {}, "Resources, one per line (prefix like 192.0.2.0/24, or ASN like AS64500)",
      h("textarea", { name: "resources", rows: 3 }, (c.resources || []).map((r) => r.prefix || r.asn).join("\n"))),
    h("label", {}, "Timeline, one stage per line: YYYY-MM-DD stage (" + state.vocab.stages.join(", ") + ")",
      h("textarea", { name: "timeline", rows: 3 }, (c.timeline || []).map((t) => `${t.date} ${t.stage}`).join("\n"))),
    h("label", {}, "Narrative (redacted before publishing)", h("textarea", { name: "narrative", rows: 6 }, c.narrative || "")),
    h("label", {}, "Tags, comma-separated (a-z, 0-9, -)", h("input", { name: "tags", value: (c.tags || []).join(", ") })),
    h("div", { class: "row" }, h("button", { type: "submit" }, existing ? "Save changes" : "Save private case"), h("span", { class: "error", role: "alert" })));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const lines = (s) => s.split("\n").map((l) => l.trim()).filter(Boolean);
    const body = {
      ...(existing ? existing.case : {}),
      title: f.get("title"), registry: f.get("registry"), opened: f.get("opened"), outcome: f.get("outcome"),
      categories: f.getAll("categories"),
      resources: lines(f.get("resources")).map((r) => (/^as\d+$/i.test(r) ? { asn: r } : { prefix: r })),
      timeline: lines(f.get("timeline")).map((l) => { const [date, ...stage] = l.split(" "); return { date, stage: stage.join(" ") }; }),
      narrative: f.get("narrative"),
      tags: f.get("tags").split(",").map((t) => t.trim()).filter(Boolean),
    };
    try {
      const saved = existing ? await api("PUT", `/cases/${existing.id}`, body) : await api("POST", "/cases", body);
      onSaved(existing ? existing.id : saved.id);
    } catch (err) { $(".error", form).textContent = err.message; }
  });
  return form;
}

function segmentsView(segments) {
  return h("div", { class: "narrative", id: "redaction-preview" },
    segments.map((s) => (s.kind ? h("mark", { "data-kind": s.kind, title: `found: ${s.kind}` }, s.text) : s.text)));
}

async function publishPage(params) {
  const root = page("Publish", h("p", { class: "muted" }, "Loading…"));
  let cases;
  try { cases = await api("GET", "/cases"); } catch (e) { root.lastChild.replaceWith(errorBox(e)); return; }
  const selected = params.get("case");
  const list = h("section", { class: "card" }, h("div", { class: "row" }, h("h2", {}, "My private cases"),
    h("button", { type: "button", class: "secondary", id: "new-case", onclick: () => { location.hash = "#/publish?case=new"; } }, "New case")));
  if (!cases.length) list.append(h("p", { class: "muted" }, "No private case yet."));
  else list.append(h("table", { id: "my-cases" }, h("thead", {}, h("tr", {}, ["", "Title", "Registry", "Opened", "Status"].map((t) => h("th", {}, t)))),
    h("tbody", {}, cases.map((c) => h("tr", {},
      h("td", {}, h("a", { href: `#/publish?case=${c.id}` }, `#${c.id}`)), h("td", {}, c.title), h("td", {}, c.registry), h("td", {}, c.opened),
      h("td", {}, h("span", { class: `badge ${c.status.state}` }, c.status.state + (c.status.versions > 1 ? ` (${c.status.versions} versions)` : ""))))))));
  root.lastChild.replaceWith(h("div", { class: "grid" }, list, h("div", { id: "case-pane" })));
  const pane = $("#case-pane");
  if (selected === "new") pane.append(caseForm(null, (id) => { location.hash = `#/publish?case=${id}`; }));
  else if (selected) await casePane(pane, Number(selected));
}

async function casePane(pane, id) {
  let detail;
  try { detail = await api("GET", `/cases/${id}`); } catch (e) { pane.append(errorBox(e)); return; }
  const st = detail.status.state;
  const out = h("div", { id: "case-actions-result" });
  const card = h("section", { class: "card" },
    h("h2", {}, detail.case.title, " ", h("span", { class: `badge ${st}` }, st)),
    h("p", { class: "muted" }, `${detail.case.registry} · ${detail.case.categories.join(", ")} · opened ${detail.case.opened} · ${detail.case.outcome}`),
    h("div", { class: "row" },
      st !== "retracted" && st !== "purged" && h("button", { type: "button", id: "preview", onclick: () => preview(id, st, out) }, st === "published" ? "Preview amendment" : "Preview summary"),
      h("button", { type: "button", class: "secondary", onclick: () => { pane.replaceChildren(caseForm(detail, () => route())); } }, "Edit"),
      st === "published" && h("select", { id: "retract-reason", "aria-label": "Retraction reason" }, state.vocab.retraction_reasons.map((r) => h("option", { value: r }, r))),
      st === "published" && h("button", { type: "button", class: "secondary", id: "retract", onclick: async () => {
        try { await api("POST", `/cases/${id}/retract`, { reason: $("#retract-reason").value }); route(); } catch (e) { out.replaceChildren(errorBox(e)); }
      } }, "Retract"),
      (st === "published" || st === "retracted") && h("button", { type: "button", class: "danger", id: "purge", onclick: () => confirmPurge(id, out) }, "Purge (identifying information)"),
      detail.status.record && h("a", { href: `#/browse/${detail.status.record}` }, "View published record")),
    out);
  pane.replaceChildren(card);
}

// A purge cannot be undone: say what it does and ask once more.
function confirmPurge(id, out) {
  out.replaceChildren(h("div", { class: "card warning", id: "purge-confirm" },
    h("p", {}, "Every node that receives the purge deletes this case's published summaries and drops the case from every figure. The private case stays here. This cannot be undone."),
    h("button", { type: "button", class: "danger", id: "confirm-purge", onclick: async () => {
      try { await api("POST", `/cases/${id}/purge`, { reason: "identifying information" }); route(); } catch (e) { out.replaceChildren(errorBox(e)); }
    } }, "Delete on every node")));
}

async function preview(id, st, out) {
  out.replaceChildren(h("p", { class: "muted" }, "Redacting…"));
  try {
    const p = await api("POST", `/cases/${id}/preview`);
    const s = p.summary;
    out.replaceChildren(
      h("h2", {}, "What would leave this node"),
      h("table", {}, h("tbody", {},
        [["Registry", s.registry], ["Categories", s.categories.join(", ")], ["Start", s.start], ["Duration", s.duration], ["Outcome", s.outcome],
          ["Resources", s.resources.map((r) => `${r.kind} ${r.size}`).join(", ") || "none"], ["Profile", `${s.profile.org_type}, ${s.profile.size}, ${s.profile.region} (published at the level “${p.profile.level}”, which ${p.profile.members} other members share)`],
          ["Tags", s.tags.join(", ") || "none"], ["Signed", h("span", { id: "authorship" }, p.authorship.why)]].map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))))),
      h("h2", {}, `Narrative: ${p.narrative.findings} identifier${p.narrative.findings === 1 ? "" : "s"} found and replaced`),
      segmentsView(p.narrative.segments),
      h("details", {}, h("summary", {}, "Published text"), h("p", { class: "narrative", id: "redacted-text" }, p.narrative.redacted)),
      p.crowd && crowdView(p.crowd, p.forms),
      p.blocking.length > 0 && h("div", { class: "error", id: "blocking" },
        h("p", {}, "Publishing will refuse this case until these are edited:"),
        h("ul", {}, p.blocking.map((b) => h("li", {}, `${b.field}: “${b.text}” (${b.kind})`)))),
      h("div", { class: "row" },
        ...shapeBoxes(p.forms ? p.forms.forms[p.forms.proposed].shape : {}),
        h("button", { type: "button", id: "confirm-publish", disabled: p.blocking.length > 0, onclick: async (e) => {
          e.target.disabled = true;
          try {
            const shape = Object.fromEntries(SHAPE_FIELDS.map(([k]) => [k, $(`#${k}`).checked]));
            const r = await api("POST", `/cases/${id}/${st === "published" ? "amend" : "publish"}`, shape);
            out.replaceChildren(h("p", { class: "ok", id: "published" }, `Published as record ${short(r.record)} (${r.kind}, ${r.anonymous ? "anonymous: it proves a current member made it, not which" : "signed with your member key"}).`),
              h("p", { class: "muted" }, `It counts in every dashboard figure that covers it, but a figure shows only once its cases come from ${state.node ? state.node.k_threshold : "k"} or more operators, and with a little noise: a wider period or a registry's total is often where a single case shows.`),
              h("a", { href: `#/browse/${r.record}` }, "View it in Browse"));
          } catch (err) { e.target.disabled = false; out.append(errorBox(err)); }
        } }, st === "published" ? "Confirm amendment" : "Confirm and publish"),
        h("span", { class: "muted" }, "Edit the case to change anything above.")));
  } catch (e) { out.replaceChildren(errorBox(e)); }
}

// ---------- browse ----------

async function browse(params, id) {
  if (id) return recordDetail(id);
  const registry = params.get("registry") || "", category = params.get("category") || "";
  const order = params.get("order") === "oldest" ? "oldest" : "newest";
  const opts = (list, v, none) => [h("option", { value: "" }, none), ...list.map((o) => h("option", { value: o, selected: o === v }, o))];
  // The filters live in the URL, so a view can be shared.
  const form = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    location.hash = `#/browse?${new URLSearchParams({ registry: f.get("registry"), category: f.get("category"), order: f.get("order") })}`;
  } },
    h("label", {}, "Registry", h("select", { name: "registry" }, opts(state.vocab.registries, registry, "Any registry"))),
    h("label", {}, "Category", h("select", { name: "category" }, opts(state.vocab.categories, category, "Any category"))),
    h("label", {}, "Order", h("select", { name: "order" },
      h("option", { value: "newest", selected: order === "newest" }, "Newest first"),
      h("option", { value: "oldest", selected: order === "oldest" }, "Oldest first"))),
    h("button", { type: "submit" }, "Filter"));
  const tbody = h("tbody", {});
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const root = page("Browse summaries", form, h("div", { class: "card scroll" }, h("table", { id: "records" },
    h("thead", {}, h("tr", {}, ["Start", "Registry", "Categories", "Outcome", "Duration", "Author", "Kind", "Status"].map((t) => h("th", { scope: "col" }, t)))), tbody), more));
  const STATUS = {
    live: "Counted in the figures",
    amended: "A later version replaces it (or its author no longer counts)",
    retracted: "Retracted by its author: counted nowhere",
  };
  let cursor = null;
  const load = async () => {
    const q = new URLSearchParams({ limit: "50", order });
    if (registry) q.set("registry", registry);
    if (category) q.set("category", category);
    if (cursor !== null) q.set(order === "newest" ? "before" : "after", cursor);
    try {
      const page = await api("GET", `/records?${q}`);
      for (const r of page.records.filter((r) => r.summary)) {
        const status = h("td", { class: "status" }, h("span", { class: `badge ${r.status}`, title: STATUS[r.status] || "" }, r.status));
        if (r.equivocating) status.append(" ", h("span", { class: "badge equivocating", title: "Its author signed two records at one sequence: see the Node page" }, "equivocating"));
        tbody.append(h("tr", { "data-status": r.status }, h("td", {}, h("a", { href: `#/browse/${r.id}` }, r.summary.start)), h("td", {}, r.summary.registry),
          h("td", {}, r.summary.categories.join(", ")), h("td", {}, r.summary.outcome), h("td", {}, r.summary.duration),
          r.anonymous ? h("td", { title: "Signed anonymously: some current member made it" }, "anonymous")
            : h("td", { title: r.author }, `member ${short(r.author)}`), h("td", {}, r.kind), status));
      }
      cursor = page.next;
      more.hidden = cursor === null || cursor === undefined;
      if (!tbody.children.length && more.hidden) tbody.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No summaries match.")));
    } catch (e) { root.append(errorBox(e)); }
  };
  more.addEventListener("click", load);
  await load();
}

async function recordDetail(id) {
  const root = page("Summary", h("p", {}, h("a", { href: "#/browse" }, "← Back to Browse")));
  try {
    const r = await api("GET", `/records/${id}`);
    const env = r.envelope;
    const body = env.body;
    root.append(h("section", { class: "card", id: "record-detail" },
      h("p", {}, h("span", { class: "ok", title: "Signature and id checked before this node stored it" }, r.verified ? "✓ verified" : "unverified"),
        env.tag ? " · anonymous: proved to come from a current member, not which" : ` · author member ${short(env.author)}`,
        r.author_is_member ? "" : " (no longer a member)",
        env.tag ? ` · ${body.kind} · created ${env.created}` : ` · ${body.kind} · sequence ${env.sequence} · created ${env.created}`),
      body.summary ? summaryView(body.summary) : h("pre", {}, JSON.stringify(body, null, 2)),
      h("details", {}, h("summary", {}, "Signed bytes"), h("p", { class: "muted" }, `Record id ${r.id} = BLAKE3 of these bytes.`), h("code", { style: "word-break: break-all" }, r.bytes))));
  } catch (e) { root.append(errorBox(e)); }
}

function summaryView(s) {
  return h("div", {},
    h("h2", {}, `${s.registry}: ${s.categories.join(", ")}`),
    h("p", {}, `Started ${s.start} · ${s.duration} · ${s.outcome} · ${s.profile.org_type}, ${s.profile.region}`),
    h("p", {}, "Resources: ", s.resources.map((r) => `${r.kind} ${r.size}`).join(", ") || "none"),
    h("h2", {}, "Timeline"),
    h("ol", { class: "timeline" }, s.timeline.map((t) => h("li", {}, `${addMonths(s.start, t.month)}: ${t.stage}`))),
    s.narrative ? h("div", {}, h("h2", {}, "Narrative"), h("p", { class: "narrative" }, s.narrative)) : null,
    s.tags.length ? h("p", {}, "Tags: ", s.tags.join(", ")) : null);
}

// ---------- similar ----------

async function similarPage(params) {
  const root = page("Similar cases", h("p", { class: "muted" }, "Pick one of your private cases: the comparison runs on this node and nothing about your case leaves it."));
  let cases;
  try { cases = await api("GET", "/cases"); } catch (e) { root.append(errorBox(e)); return; }
  const selected = params.get("case") || "";
  root.append(h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); location.hash = `#/similar?case=${new FormData(e.target).get("case")}`; } },
    h("label", {}, "My case", h("select", { name: "case" }, cases.map((c) => h("option", { value: c.id, selected: String(c.id) === selected }, `#${c.id} ${c.title}`)))),
    h("button", { type: "submit", disabled: !cases.length }, "Find similar")));
  if (!selected) return;
  try {
    const s = await api("GET", `/cases/${selected}/similar?limit=20`);
    root.append(h("section", { class: "card", id: "similar-results" },
      h("p", {}, s.operators ? h("strong", {}, `You are not alone: ${s.operators} operators published cases like yours.`)
        : `Fewer than ${s.k} operators published cases like yours (score ≥ ${s.like_score}).`),
      h("table", {}, h("thead", {}, h("tr", {}, ["Score", "Registry", "Categories", "Start"].map((t) => h("th", {}, t)))),
        h("tbody", {}, s.matches.map((m) => h("tr", {}, h("td", { class: "num" }, m.score.toFixed(2)), h("td", {}, h("a", { href: `#/browse/${m.record}` }, m.registry)),
          h("td", {}, m.categories.join(", ")), h("td", {}, m.start)))))));
  } catch (e) { root.append(errorBox(e)); }
}

// ---------- node ----------

async function nodePage() {
  const root = page("Node", h("p", { class: "muted" }, "Loading…"));
  const kv = (rows) => h("table", {}, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))));
  if (state.analyst) {
    // What an analyst token may see of the node: who it is and what it holds, nothing of its peers or members.
    try {
      const [info, ready] = await Promise.all([api("GET", "/node"), fetch("/api/v1/ready").then((r) => r.json())]);
      root.lastChild.replaceWith(h("section", { class: "card", id: "node-analyst" }, h("h2", {}, "This node"),
        kv([["Federation", `${info.federation_name} (${short(info.federation)})`], ["Records", info.records], ["Members", info.members],
          ["k threshold", info.k_threshold], ["Ready", ready.ready ? "yes" : "no"], ["Version", info.version]]),
        h("p", { class: "muted" }, "Signed in with an analyst token: pattern queries only. Peers, members and cases are the member's.")));
    } catch (e) { root.lastChild.replaceWith(errorBox(e)); }
    return;
  }
  try {
    const [info, ready, peers, sync, members, queries] = await Promise.all([
      api("GET", "/node"), fetch("/api/v1/ready").then((r) => r.json()), api("GET", "/peers"), api("GET", "/sync"), api("GET", "/members"),
      api("GET", "/analysts/log?limit=20")]);
    const vouchOut = h("span", { role: "alert" });
    const vouchForm = h("form", { class: "row", onsubmit: async (e) => {
      e.preventDefault();
      const f = new FormData(e.target);
      try { const r = await api("POST", "/vouches", { member: f.get("member").trim(), withdraw: e.submitter && e.submitter.value === "withdraw" }); vouchOut.className = "ok"; vouchOut.textContent = `Recorded (${r.kind}).`; }
      catch (err) { vouchOut.className = "error"; vouchOut.textContent = err.message; }
    } }, h("input", { name: "member", placeholder: "member key (64 hex)", size: 66, required: true, "aria-label": "Member key" }),
      h("button", { type: "submit", value: "vouch" }, "Vouch"), h("button", { type: "submit", value: "withdraw", class: "secondary" }, "Withdraw vouch"), vouchOut);
    root.lastChild.replaceWith(h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "This node"), kv([["Federation", `${info.federation_name} (${short(info.federation)})`], ["Member key", info.member],
        ["Peer id", info.peer_id || "network off"], ["Records", info.records], ["Members", info.members], ["k threshold", info.k_threshold],
        ["Ready", ready.ready ? "yes" : "no"], ["Version", info.version]])),
      h("section", { class: "card" }, h("h2", {}, `Peers (${peers.length})`), peers.length ? h("table", {}, h("tbody", {}, peers.map((p) =>
        h("tr", {}, h("td", { title: p.peer }, short(p.peer)), h("td", {}, p.member ? `member ${short(p.member)}` : p.proven ? "a member (proved anonymously)" : "unproven"), h("td", { class: "num" }, p.score === null ? "" : p.score.toFixed(1)))))) : h("p", { class: "muted" }, "No peer connected.")),
      h("section", { class: "card" }, h("h2", {}, "Catch-up"), h("p", {}, `${sync.remaining} records still to fetch.`),
        h("table", {}, h("tbody", {}, sync.peers.map((p) => h("tr", {}, h("td", {}, short(p.peer)), h("td", {}, p.in_progress ? `running: ${p.fetched} fetched, ${p.remaining} left` : `idle, ${p.rounds} rounds`),
          h("td", {}, p.last_finished_secs_ago === null ? "" : `${p.last_finished_secs_ago} s ago`)))))),
      h("section", { class: "card" }, h("h2", {}, `Members (${members.members.length}; ${members.vouches_needed} vouches admit a new one)`),
        h("table", {}, h("tbody", {}, members.members.map((m) => h("tr", {}, h("td", { title: m.key }, short(m.key)), h("td", {}, m.founder ? "founder" : `${m.vouches} vouches`), h("td", {}, m.vouched_by_me ? "vouched by me" : ""))))),
        members.candidates.length ? h("div", {}, h("h2", {}, "Waiting for vouches"), h("ul", {}, members.candidates.map((c) => h("li", { title: c.key }, `${short(c.key)}: ${c.vouches} of ${members.vouches_needed}`)))) : null,
        members.equivocations.length ? h("div", { id: "equivocations" }, h("h2", {}, "Equivocating authors"),
          h("p", { class: "muted" }, "Each signed two different records with one sequence number. Both records verify; together they prove it."),
          h("ul", {}, members.equivocations.map((e) => h("li", { title: e.author }, `member ${short(e.author)}, sequence ${e.sequence}: `,
            ...e.records.map((id, i) => [i ? ", " : "", h("a", { href: `#/browse/${id}` }, short(id))]).flat())))) : null,
        h("h2", {}, "Vouch"), vouchForm),
      h("section", { class: "card", id: "analyst-queries" }, h("h2", {}, "Analysts' last queries"), queries.entries.length
        ? h("table", {}, h("thead", {}, h("tr", {}, ["When (UTC)", "Analyst", "Status", "Query"].map((t) => h("th", {}, t)))),
          h("tbody", {}, queries.entries.slice().reverse().map((q) => h("tr", {}, h("td", {}, new Date(q.at * 1000).toISOString().slice(0, 19).replace("T", " ")),
            h("td", {}, q.analyst), h("td", { class: "num" }, q.status), h("td", { class: "wrap" }, q.query)))))
        : h("p", { class: "muted" }, "No analyst has queried this node. Issue a token with `lantern token analyst NAME`."))));
  } catch (e) { root.lastChild.replaceWith(errorBox(e)); }
}

// ---------- routing ----------

const PAGES = { dashboard, publish: publishPage, browse, similar: similarPage, node: nodePage };
/** Pages only the member token may use. */
const MEMBER_PAGES = ["publish", "browse", "similar"];

async function route() {
  const signedIn = Boolean(state.token && state.vocab);
  $("#signin").hidden = signedIn;
  $("#page").hidden = !signedIn;
  $("#signout").hidden = !signedIn;
  if (!signedIn) { $("#token").focus(); return; }
  const [path, query] = (location.hash.slice(2) || "dashboard").split("?");
  const [name, id] = path.split("/");
  document.querySelectorAll("nav a").forEach((a) => a.toggleAttribute("aria-current", a.dataset.page === name) && a.setAttribute("aria-current", "page"));
  if (state.analyst && MEMBER_PAGES.includes(name)) {
    page("Not for analyst tokens", h("p", { id: "member-only" }, "This page is the member's. An analyst token may use the ",
      h("a", { href: "#/dashboard" }, "dashboard"), " and the ", h("a", { href: "#/node" }, "node's summary"), "."));
    return;
  }
  await (PAGES[name] || dashboard)(new URLSearchParams(query || ""), id);
}

window.addEventListener("hashchange", route);
$("#signout").addEventListener("click", signOut);
$("#signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (await signIn($("#token").value)) route();
});
(async () => {
  // `#token=…` (as `lantern demo` prints it) signs in and leaves the address bar.
  if (location.hash.startsWith("#token=")) {
    state.token = decodeURIComponent(location.hash.slice("#token=".length));
    history.replaceState(null, "", "#/dashboard");
  }
  if (state.token && !(await signIn(state.token))) state.token = "";
  route();
})();
