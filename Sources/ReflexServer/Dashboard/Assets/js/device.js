// Device page: live charts of every metric (event feed), time ranges from rollups, the detector's
// expected band and anomaly score, alarms and commands marked on the time axis, latest state
// attributes, command history with each command's lifecycle, and the manual override.

import { api, optional, can } from "./api.js";
import * as live from "./live.js";
import { TimeChart, formatValue, tick } from "./chart.js";
import { html, raw, ago, time, until, severityBadge, autonomyPill, overrideEnd, statusDot, confirmDialog, toast, DURATIONS } from "./util.js";

const RANGES = {
  live: { label: "Live 15 min", span: 15 * 60e3, step: "2s" },
  hour: { label: "Hour", span: 3600e3, step: "1m" },
  day: { label: "Day", span: 86400e3, step: "5m" },
  week: { label: "Week", span: 7 * 86400e3, step: "1h" },
  month: { label: "Month", span: 30 * 86400e3, step: "6h" },
};
const UNIT_MS = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };
const stepMs = (text) => {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : 60e3;
};
const SEVERITY_COLORS = { critical: "#dc2626", major: "#ea580c", minor: "#ca8a04", warning: "#2563eb" };

export function mount(root, params) {
  const id = params.id;
  const at = params.at ? Number(params.at) : null;
  let range = at ? "at" : params.range && RANGES[params.range] ? params.range : "live";
  const enc = encodeURIComponent(id);
  const charts = new Map(); // metric -> {chart, card}
  const state = { alarms: null, commands: null, override: null, detection: null, device: null };
  let disposed = false;

  root.innerHTML = html`
    <div class="page-head device-head">
      <div>
        <a href="#/fleet" class="back">← Fleet</a>
        <h1 id="dev-title">${id}</h1>
        <div id="dev-meta" class="meta"></div>
      </div>
      <div id="dev-override" class="override-box"></div>
    </div>
    <div class="toolbar ranges" id="ranges">
      ${Object.entries(RANGES).map(([k, r]) => html`<button data-range="${k}" class="seg ${k === range ? "active" : ""}">${r.label}</button>`)}
      ${at ? html`<button data-range="at" class="seg active">Around ${time(at)}</button>` : ""}
      <span class="legend"><span class="lg line"></span>value <span class="lg band"></span>expected band
        <span class="lg score"></span>anomaly score <span class="lg alarm"></span>alarm <span class="lg cmd"></span>command</span>
    </div>
    <div class="device-grid">
      <section><div id="charts" class="charts"><div class="muted">Loading metrics…</div></div>
        <p id="detection-note" class="muted small"></p></section>
      <aside>
        <div class="card"><h2>State</h2><div id="dev-state"><span class="muted">Loading…</span></div>
          <div id="dev-quality"></div></div>
        <div class="card"><h2>Alarms</h2><div id="dev-alarms"><span class="muted">Loading…</span></div></div>
        <div class="card"><h2>Commands</h2><div id="dev-commands"><span class="muted">Loading…</span></div></div>
      </aside>
    </div>`.text;

  function windowFor() {
    if (range === "at") return { from: at - 30 * 60e3, to: at + 30 * 60e3, step: "1m", follow: 0 };
    const r = RANGES[range];
    const now = Date.now();
    return { from: now - r.span, to: now, step: r.step, follow: r.span };
  }

  async function loadDevice() {
    try {
      const [dev, st] = await Promise.all([api(`/api/v1/devices/${enc}`), optional(`/api/v1/devices/${enc}/state`)]);
      state.device = dev;
      const meta = root.querySelector("#dev-meta");
      meta.innerHTML = html`<span class="status">${statusDot(st && !st.missing ? st.online : null)}</span>
        <span>${dev.type || "no type"}</span>${dev.name && dev.name !== dev.id ? html`<span>${dev.name}</span>` : ""}
        ${Object.entries(dev.labels || {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => html`<span class="chip">${k}=${v}</span>`)}
        ${dev.enabled ? "" : html`<span class="chip warn">disabled</span>`}`.text;
      renderState(st);
    } catch (err) {
      root.querySelector("#dev-meta").innerHTML = html`<span class="error-text">${err.message}</span>`.text;
    }
  }

  function renderState(st) {
    const el = root.querySelector("#dev-state");
    if (!st || st.missing) {
      el.innerHTML = html`<span class="muted">No state reported.</span>`.text;
      return;
    }
    const attrs = st.attributes && typeof st.attributes === "object" ? Object.entries(st.attributes) : [];
    el.innerHTML = html`<dl class="attrs">
      <dt>status</dt><dd>${st.status || "unknown"}${st.statusReason ? html` <span class="muted">(${st.statusReason})</span>` : ""}</dd>
      <dt>since</dt><dd>${st.statusAt ? ago(st.statusAt) : "–"}</dd>
      ${attrs.map(([k, v]) => html`<dt>${k}</dt><dd>${typeof v === "object" ? JSON.stringify(v) : String(v)}</dd>`)}
    </dl>${st.attributesAt ? html`<div class="muted small">attributes reported ${ago(st.attributesAt)}</div>` : html`<div class="muted small">no attributes reported (devices/${id}/state)</div>`}`.text;
  }

  async function loadCharts() {
    const w = windowFor();
    let series;
    try {
      series = (await api(`/api/v1/devices/${enc}/series`)).series;
    } catch (err) {
      root.querySelector("#charts").innerHTML = html`<div class="empty error"><strong>Cannot load this device</strong><p>${err.message}</p></div>`.text;
      return;
    }
    const metrics = series.map((s) => s.metric).filter((m) => !m.startsWith("anomaly:")).sort();
    const container = root.querySelector("#charts");
    if (!metrics.length) {
      container.innerHTML = html`<div class="empty"><strong>No telemetry yet</strong><p>Charts appear as soon as ${id} publishes on devices/${id}/telemetry.</p></div>`.text;
      return;
    }
    if (!charts.size) container.innerHTML = "";
    for (const m of metrics) ensureChart(m);
    await Promise.all(metrics.map((m) => loadMetric(m, w)));
    applyMarkers();
  }

  function ensureChart(metric) {
    if (charts.has(metric)) return charts.get(metric);
    const container = root.querySelector("#charts");
    if (container.querySelector(":scope > .empty, :scope > .muted")) container.innerHTML = "";
    const card = document.createElement("div");
    card.className = "card chart-card";
    card.dataset.metric = metric;
    card.innerHTML = html`<div class="chart-head"><h3>${metric}</h3><span class="latest" data-latest>–</span></div>
      <canvas aria-label="${metric} chart"></canvas><div class="chart-foot muted small" data-foot></div>`.text;
    container.appendChild(card);
    const chart = new TimeChart(card.querySelector("canvas"), { height: 170 });
    const w = windowFor();
    chart.setWindow(w.from, w.to, w.follow);
    const entry = { chart, card };
    charts.set(metric, entry);
    return entry;
  }

  async function loadMetric(metric, w) {
    const { chart, card } = charts.get(metric);
    chart.setWindow(w.from, w.to, w.follow);
    const m = encodeURIComponent(metric);
    const to = range === "at" ? w.to : Date.now() + 1000;
    try {
      const agg = await api(`/api/v1/devices/${enc}/series/${m}/aggregate?from=${Math.floor(w.from)}&to=${Math.floor(to)}&step=${w.step}`);
      const half = agg.stepMs / 2;
      chart.setPoints(agg.points.map((p) => (range === "live"
        ? { t: p.start + half, v: p.last }
        : { t: p.start + half, v: p.mean, lo: p.min, hi: p.max })));
      const last = agg.points[agg.points.length - 1];
      if (last) card.querySelector("[data-latest]").textContent = formatValue(last.last);
      card.querySelector("[data-foot]").textContent = range === "live"
        ? "last 15 minutes, live"
        : `${agg.points.length} buckets of ${w.step} (mean, min–max shaded)`;
    } catch (err) {
      card.querySelector("[data-foot]").textContent = `⚠ ${err.message}`;
    }
    if (state.detection === false) return;
    // As many points as the line has buckets: the node merges longer ranges into buckets (highest
    // score, widest band), so the band has the line's resolution, and a week costs 168 points.
    const limit = Math.max(60, Math.min(2000, Math.ceil((to - w.from) / stepMs(w.step))));
    const anomalies = await optional(`/api/v1/devices/${enc}/anomalies/${m}?from=${Math.floor(w.from)}&to=${Math.floor(to)}&limit=${limit}`).catch(() => null);
    if (!anomalies) return;
    if (anomalies.missing) {
      state.detection = false;
      root.querySelector("#detection-note").textContent = "Anomaly detection is not enabled on this node: no expected band or score to draw.";
      return;
    }
    state.detection = true;
    chart.setBand((anomalies.points || []).map((p) => ({ t: p.ts, expected: p.expected, lower: p.lower, upper: p.upper, score: p.score })));
  }

  async function loadQuality() {
    const el = root.querySelector("#dev-quality");
    const body = await optional(`/api/v1/data-quality?device=${enc}`).catch(() => null);
    if (!body || body.missing) {
      el.innerHTML = "";
      return;
    }
    const active = body.active || [];
    el.innerHTML = html`<h4>Data quality</h4>${active.length
      ? html`<ul class="list quality">${active.map((q) => html`<li><span class="pill warn">${q.kind}</span> <strong>${q.metric}</strong>
          <div class="muted small">${q.detail} · since ${ago(q.ts)}</div></li>`)}</ul>`
      : html`<div class="muted small">No data-quality issue.</div>`}`.text;
  }

  async function loadAlarms() {
    const body = await optional(`/api/v1/alarms?device=${enc}&state=all&limit=100`).catch((err) => ({ error: err.message }));
    state.alarms = body;
    const el = root.querySelector("#dev-alarms");
    if (body.missing) el.innerHTML = html`<span class="muted">Automation is not enabled: no alarms.</span>`.text;
    else if (body.error) el.innerHTML = html`<span class="error-text">${body.error}</span>`.text;
    else if (!body.alarms.length) el.innerHTML = html`<span class="muted">No alarms.</span>`.text;
    else {
      el.innerHTML = html`<ul class="list">${body.alarms.slice(0, 12).map((a) => html`<li>
        ${severityBadge(a.severity)} <strong>${a.type}</strong> <span class="state-${a.state}">${a.state}</span>
        <div class="muted small">${a.message || ""}</div>
        <div class="muted small">raised ${time(a.raisedAt)} · <a href="#/device/${enc}?at=${a.raisedAt}">show on chart</a></div></li>`)}</ul>`.text;
    }
    applyMarkers();
  }

  function lifecycle(c) {
    const steps = (c.history && c.history.length ? c.history : [{ at: c.createdAt, state: c.state }]);
    return html`<ol class="lifecycle">${steps.map((h) => html`<li class="st-${h.state}" title="${time(h.at)}${h.detail ? " · " + h.detail : ""}">${h.state.replace("_", " ")}</li>`)}</ol>`;
  }

  async function loadCommands() {
    const body = await optional(`/api/v1/commands?device=${enc}&limit=50`).catch((err) => ({ error: err.message }));
    state.commands = body;
    const el = root.querySelector("#dev-commands");
    if (body.missing) el.innerHTML = html`<span class="muted">Automation is not enabled: no commands.</span>`.text;
    else if (body.error) el.innerHTML = html`<span class="error-text">${body.error}</span>`.text;
    else if (!body.commands.length) el.innerHTML = html`<span class="muted">No commands sent.</span>`.text;
    else {
      el.innerHTML = html`<ul class="list">${body.commands.slice(0, 15).map((c) => html`<li>
        <strong>${c.name}</strong> <span class="pill st-${c.state}">${c.state.replace("_", " ")}</span>
        <div class="muted small">${c.origin} · ${time(c.createdAt)}${c.attempts > 1 ? ` · ${c.attempts} attempts` : ""}</div>
        ${lifecycle(c)}${c.detail ? html`<div class="muted small">${c.detail}</div>` : ""}</li>`)}</ul>`.text;
    }
    applyMarkers();
  }

  function applyMarkers() {
    const markers = [];
    if (state.alarms && state.alarms.alarms) {
      for (const a of state.alarms.alarms) markers.push({ t: a.raisedAt, kind: "alarm", color: SEVERITY_COLORS[a.severity] || "#dc2626", label: `${a.severity} ${a.type}` });
    }
    if (state.commands && state.commands.commands) {
      for (const c of state.commands.commands) markers.push({ t: c.createdAt, kind: "command", color: "#0891b2", label: `command ${c.name} (${c.state})` });
    }
    if (at) markers.push({ t: at, kind: "at", color: "#111827", label: "alarm time" });
    for (const { chart } of charts.values()) chart.setMarkers(markers);
  }

  async function loadOverride() {
    const el = root.querySelector("#dev-override");
    const body = await optional(`/api/v1/devices/${enc}/override`).catch((err) => ({ error: err.message }));
    state.override = body;
    if (body.missing) {
      el.innerHTML = html`<span class="pill muted">automation not enabled</span>`.text;
      return;
    }
    if (body.error) {
      el.innerHTML = html`<span class="error-text">${body.error}</span>`.text;
      return;
    }
    const mode = body.failSafe && body.failSafe.active ? "fail_safe" : body.mode;
    el.innerHTML = html`<div>Autonomy ${autonomyPill(mode)}</div>
      ${body.mode === "manual" ? html`<div class="muted small">manual by ${body.by || "?"}: ${body.reason || ""} · ${overrideEnd(body.until)}</div>` : ""}
      ${body.failSafe && body.failSafe.active ? html`<div class="muted small">fail-safe: ${body.failSafe.reason || ""}</div>` : ""}
      ${can("operator") ? (body.mode === "manual"
        ? html`<button class="secondary" data-action="release">Release to auto</button>`
        : html`<button class="primary" data-action="manual">Take over (manual)</button>`) : ""}`.text;
  }

  root.querySelector("#dev-override").addEventListener("click", async (e) => {
    const action = e.target.closest("[data-action]")?.dataset.action;
    if (!action) return;
    if (action === "manual") {
      const values = await confirmDialog({
        title: `Take over ${id}?`,
        message: "Rules stop acting on this device until you release it or the override expires.",
        fields: [{ name: "reason", label: "Reason", required: true }, { name: "for", label: "For", type: "select", options: DURATIONS, value: "1h" }],
        confirmLabel: "Set manual",
      });
      if (!values) return;
      try {
        await api(`/api/v1/devices/${enc}/override`, { method: "PUT", body: { reason: values.reason, for: values.for } });
        toast(`${id} is now in manual mode`);
      } catch (err) {
        toast(err.message, "error");
      }
    } else {
      const ok = await confirmDialog({ title: `Release ${id}?`, message: "Rules act on this device again.", confirmLabel: "Release" });
      if (!ok) return;
      try {
        await api(`/api/v1/devices/${enc}/override`, { method: "DELETE" });
        toast(`${id} is back on auto`);
      } catch (err) {
        toast(err.message, "error");
      }
    }
    loadOverride();
  });

  root.querySelector("#ranges").addEventListener("click", (e) => {
    const key = e.target.closest("[data-range]")?.dataset.range;
    if (!key || key === range) return;
    range = key;
    for (const b of root.querySelectorAll("[data-range]")) b.classList.toggle("active", b.dataset.range === key);
    const w = windowFor();
    for (const metric of charts.keys()) loadMetric(metric, w);
  });

  let reloadSeries = null;
  const offs = [
    live.on("telemetry", (e) => {
      if (e.device !== id || range === "at") return;
      for (const [metric, value] of Object.entries(e.values)) {
        if (metric.startsWith("anomaly:")) continue;
        if (!charts.has(metric)) {
          clearTimeout(reloadSeries);
          reloadSeries = setTimeout(loadCharts, 500);
          continue;
        }
        const { chart, card } = charts.get(metric);
        chart.append(e.ts, value);
        card.querySelector("[data-latest]").textContent = formatValue(value);
      }
    }),
    live.on("anomaly", (e) => {
      if (e.device !== id || range === "at" || !charts.has(e.metric)) return;
      state.detection = true;
      charts.get(e.metric).chart.appendBand({ t: e.ts, expected: e.expected, lower: e.lower, upper: e.upper, score: e.score });
    }),
    live.on("status", (e) => { if (e.device === id) loadDevice(); }),
    live.on("dataQuality", (e) => { if (e.device === id) loadQuality(); }),
    live.on("alarm", (e) => { if (e.device === id) loadAlarms(); }),
    live.on("command", (e) => { if (e.device === id) loadCommands(); }),
  ];
  const slide = setInterval(() => tick([...charts.values()].map((c) => c.chart)), 1000);
  const refresh = setInterval(() => {
    if (live.liveState !== "live" && range !== "at") loadCharts();
    loadAlarms();
    loadCommands();
  }, 15000);

  loadDevice();
  loadQuality();
  loadCharts();
  loadAlarms();
  loadCommands();
  loadOverride();
  return () => {
    disposed = true;
    offs.forEach((off) => off());
    clearInterval(slide);
    clearInterval(refresh);
    clearTimeout(reloadSeries);
  };
}

