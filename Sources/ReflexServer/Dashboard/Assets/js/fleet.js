// Fleet overview: every device with its health, data freshness, alarms by severity, anomaly
// level and autonomy state; filter by type and label, search; live from the event feed.

import { api } from "./api.js";
import * as live from "./live.js";
import { formatValue, scoreColor } from "./chart.js";
import { html, raw, ago, seconds, SEVERITIES, autonomyPill, statusDot, esc } from "./util.js";

const CELL_CLASSES = ["", "col-type", "status", "", "", "alarms", "nowrap", "", "wide latest"];

export function mount(root) {
  root.innerHTML = html`
    <div class="page-head"><h1>Fleet</h1><span class="muted" id="fleet-updated"></span></div>
    <div class="tiles" id="fleet-tiles"></div>
    <div class="toolbar">
      <input id="fleet-search" type="search" placeholder="Search devices, names, labels…" aria-label="Search">
      <select id="fleet-type" aria-label="Type"><option value="">All types</option></select>
      <select id="fleet-label" aria-label="Label"><option value="">All labels</option></select>
      <select id="fleet-status" aria-label="Status">
        <option value="">Any state</option><option value="online">Online</option><option value="offline">Offline</option>
        <option value="alarms">With alarms</option><option value="manual">Not on auto</option>
      </select>
    </div>
    <div class="card table-card"><table class="fleet">
      <thead><tr><th>Device</th><th class="col-type">Type</th><th>Status</th><th>Last seen</th><th>Freshness</th>
        <th>Alarms</th><th>Anomaly</th><th>Autonomy</th><th class="wide">Latest values</th></tr></thead>
      <tbody id="fleet-rows"><tr><td colspan="9" class="muted">Loading…</td></tr></tbody>
    </table></div>`.text;

  const state = { devices: [], autonomyEnabled: null, loadedAt: 0, error: null };
  const byId = new Map();
  const scores = new Map(); // device id -> Map(metric -> latest score), from the live feed
  const rowCache = new Map(); // device id -> {tr, cells: [html text per cell]}
  const filters = { q: "", type: "", label: "", status: "" };
  // -Infinity: the first render is immediate; later ones at most once a second.
  let pending = false, lastRender = -Infinity, timer = null, disposed = false;

  const schedule = () => {
    if (pending) return;
    pending = true;
    const wait = Math.max(0, 1000 - (performance.now() - lastRender));
    setTimeout(() => requestAnimationFrame(() => {
      pending = false;
      lastRender = performance.now();
      render();
    }), wait);
  };

  async function load() {
    try {
      const body = await api("/api/v1/fleet");
      state.devices = body.devices;
      state.autonomyEnabled = body.autonomyEnabled;
      state.loadedAt = Date.now();
      state.error = null;
      byId.clear();
      for (const d of state.devices) {
        byId.set(d.id, d);
        const live = scores.get(d.id);
        if (live && live.size) d.anomaly = Math.max(...live.values());
      }
      fillFilters();
    } catch (err) {
      state.error = err.message;
    }
    schedule();
  }

  function fillFilters() {
    const types = [...new Set(state.devices.map((d) => d.type).filter(Boolean))].sort();
    const labels = [...new Set(state.devices.flatMap((d) => Object.entries(d.labels || {}).map(([k, v]) => `${k}=${v}`)))].sort();
    const typeSel = root.querySelector("#fleet-type");
    const labelSel = root.querySelector("#fleet-label");
    typeSel.innerHTML = html`<option value="">All types</option>${types.map((t) => html`<option>${t}</option>`)}`.text;
    labelSel.innerHTML = html`<option value="">All labels</option>${labels.map((l) => html`<option>${l}</option>`)}`.text;
    typeSel.value = types.includes(filters.type) ? filters.type : "";
    labelSel.value = labels.includes(filters.label) ? filters.label : "";
  }

  function matches(d) {
    if (filters.type && d.type !== filters.type) return false;
    if (filters.label) {
      const [k, v] = filters.label.split("=");
      if ((d.labels || {})[k] !== v) return false;
    }
    const alarmCount = SEVERITIES.reduce((n, s) => n + (d.alarms?.[s] || 0), 0);
    if (filters.status === "online" && d.online !== true) return false;
    if (filters.status === "offline" && d.online === true) return false;
    if (filters.status === "alarms" && alarmCount === 0) return false;
    if (filters.status === "manual" && (!d.autonomy || d.autonomy === "auto")) return false;
    if (filters.q) {
      const hay = [d.id, d.name, d.type, ...Object.entries(d.labels || {}).map(([k, v]) => `${k}=${v}`)].join(" ").toLowerCase();
      if (!filters.q.toLowerCase().split(/\s+/).every((w) => hay.includes(w))) return false;
    }
    return true;
  }

  function freshness(d) {
    const f = d.lastSample ? Math.max(0, Math.round((Date.now() - d.lastSample) / 1000)) : d.freshnessSeconds;
    if (f == null) return html`<span class="muted">no data</span>`;
    const cls = f < 60 ? "fresh" : f < 900 ? "stale" : "old";
    return html`<span class="fresh-tag ${cls}">${seconds(f)}</span>`;
  }

  function alarmsCell(d) {
    const parts = SEVERITIES.filter((s) => d.alarms?.[s]).map((s) => html`<span class="badge sev-${s}" title="${s}">${d.alarms[s]} ${s}</span>`);
    return parts.length ? html`${parts}` : html`<span class="muted">none</span>`;
  }

  function anomalyCell(d) {
    if (d.anomaly == null) return html`<span class="muted">–</span>`;
    const pct = Math.round(d.anomaly * 100);
    return html`<span class="meter" title="anomaly score ${d.anomaly.toFixed(2)}"><span style="width:${pct}%;background:${scoreColor(d.anomaly)}"></span></span> <span class="num">${d.anomaly.toFixed(2)}</span>`;
  }

  function latestCell(d) {
    const entries = Object.entries(d.latest || {}).filter(([m]) => !m.startsWith("anomaly:")).sort(([a], [b]) => a.localeCompare(b)).slice(0, 4);
    if (!entries.length) return html`<span class="muted">–</span>`;
    return html`${entries.map(([m, s]) => html`<span class="kv"><span class="k">${m}</span> <span class="v">${formatValue(s.value)}</span></span>`)}`;
  }

  function render() {
    if (disposed) return;
    const now = Date.now();
    const tiles = root.querySelector("#fleet-tiles");
    const total = state.devices.length;
    const online = state.devices.filter((d) => d.online === true).length;
    const counts = Object.fromEntries(SEVERITIES.map((s) => [s, state.devices.reduce((n, d) => n + (d.alarms?.[s] || 0), 0)]));
    const notAuto = state.devices.filter((d) => d.autonomy && d.autonomy !== "auto").length;
    const autonomy = state.autonomyEnabled == null ? "unknown" : state.autonomyEnabled ? "on" : "OFF";
    tiles.innerHTML = html`
      <div class="tile"><div class="tile-label">Devices</div><div class="tile-value" data-testid="device-count">${total}</div></div>
      <div class="tile"><div class="tile-label">Online</div><div class="tile-value">${online}<span class="of">/ ${total}</span></div></div>
      <div class="tile"><div class="tile-label">Active alarms</div><div class="tile-value sevs">${SEVERITIES.map((s) => html`<span class="badge sev-${s} ${counts[s] ? "" : "zero"}">${counts[s]} ${s}</span>`)}</div></div>
      <div class="tile"><div class="tile-label">Autonomy</div><div class="tile-value ${autonomy === "OFF" ? "warn" : ""}">${autonomy}${notAuto ? html`<span class="of">${notAuto} not on auto</span>` : ""}</div></div>`.text;
    root.querySelector("#fleet-updated").textContent = state.error ? `⚠ ${state.error}` : state.loadedAt ? `updated ${ago(state.loadedAt, now)}` : "";
    const rows = state.devices.filter(matches);
    const body = root.querySelector("#fleet-rows");
    if (!total) {
      rowCache.clear();
      body.innerHTML = html`<tr><td colspan="9" class="muted">${state.error ? state.error : "No devices registered yet. Add one with `reflex device add ID`."}</td></tr>`.text;
      return;
    }
    if (!rows.length) {
      rowCache.clear();
      body.innerHTML = html`<tr><td colspan="9" class="muted">No device matches these filters.</td></tr>`.text;
      return;
    }
    // Rows and cells are kept between renders and only a cell whose content changed is
    // rewritten: with every device streaming, most cells stay as they are, and the browser
    // re-lays out a few cells instead of the whole table.
    if (body.querySelector("tr:not([data-device])")) body.innerHTML = "";
    const wanted = new Set(rows.map((d) => d.id));
    for (const [id, row] of rowCache) {
      if (!wanted.has(id)) {
        row.tr.remove();
        rowCache.delete(id);
      }
    }
    rows.forEach((d, index) => {
      const cells = [
        html`<a href="#/device/${encodeURIComponent(d.id)}" class="device-link">${d.id}</a>${d.name && d.name !== d.id ? html`<div class="muted small">${d.name}</div>` : ""}
          <div class="labels">${Object.entries(d.labels || {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => html`<span class="chip">${k}=${v}</span>`)}${d.enabled ? "" : html`<span class="chip warn">disabled</span>`}</div>`,
        html`${d.type || "–"}`,
        statusDot(d.online),
        html`<span title="${d.lastSeen ? new Date(d.lastSeen).toLocaleString() : ""}">${ago(d.lastSeen, now)}</span>`,
        freshness(d),
        alarmsCell(d),
        anomalyCell(d),
        autonomyPill(d.autonomy),
        latestCell(d),
      ].map((cell) => cell.text);
      let row = rowCache.get(d.id);
      if (!row) {
        const tr = document.createElement("tr");
        tr.dataset.device = d.id;
        tr.tabIndex = 0;
        tr.innerHTML = CELL_CLASSES.map((c) => `<td class="${c}"></td>`).join("");
        row = { tr, cells: [] };
        rowCache.set(d.id, row);
      }
      row.tr.classList.toggle("disabled", !d.enabled);
      cells.forEach((text, i) => {
        if (row.cells[i] !== text) {
          row.tr.children[i].innerHTML = text;
          row.cells[i] = text;
        }
      });
      if (body.children[index] !== row.tr) body.insertBefore(row.tr, body.children[index] || null);
    });
  }

  root.querySelector("#fleet-rows").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-device]");
    if (row && !e.target.closest("a")) location.hash = `#/device/${encodeURIComponent(row.dataset.device)}`;
  });
  root.querySelector("#fleet-rows").addEventListener("keydown", (e) => {
    const row = e.target.closest("tr[data-device]");
    if (row && e.key === "Enter") location.hash = `#/device/${encodeURIComponent(row.dataset.device)}`;
  });
  const bind = (id, key) => root.querySelector(id).addEventListener("input", (e) => {
    filters[key] = e.target.value;
    render();
  });
  bind("#fleet-search", "q");
  bind("#fleet-type", "type");
  bind("#fleet-label", "label");
  bind("#fleet-status", "status");

  const offs = [
    live.on("telemetry", (e) => {
      const d = byId.get(e.device);
      if (!d) return;
      d.latest = d.latest || {};
      for (const [m, v] of Object.entries(e.values)) if (!m.startsWith("anomaly:")) d.latest[m] = { ts: e.ts, value: v };
      d.lastSeen = Math.max(d.lastSeen || 0, e.ts);
      d.lastSample = Math.max(d.lastSample || 0, e.ts);
      if (d.online == null) d.online = true;
      schedule();
    }),
    live.on("status", (e) => {
      const d = byId.get(e.device);
      if (!d) return;
      d.online = e.online;
      d.lastSeen = Math.max(d.lastSeen || 0, e.ts);
      schedule();
    }),
    live.on("anomaly", (e) => {
      const d = byId.get(e.device);
      if (!d || e.score == null) return;
      // The node's level is the highest latest score over the device's metrics: the same here,
      // from each metric's latest score as it arrives (kept across reloads of the fleet).
      if (!scores.has(e.device)) scores.set(e.device, new Map());
      scores.get(e.device).set(e.metric, e.score);
      d.anomaly = Math.max(...scores.get(e.device).values());
      schedule();
    }),
    live.on("alarm", () => load()),
    // Overrides, fail-safe and the autonomy switch change a device's mode; each is audited.
    live.on("audit", (e) => {
      if (e.decision === "operator_action" || e.decision === "fail_safe") load();
    }),
  ];
  load();
  timer = setInterval(load, 10000);
  const clock = setInterval(schedule, 1000);
  return () => {
    disposed = true;
    offs.forEach((off) => off());
    clearInterval(timer);
    clearInterval(clock);
  };
}

