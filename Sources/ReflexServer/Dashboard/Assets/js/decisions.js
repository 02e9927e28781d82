// Decisions: the audit trail ("why did Reflex do this?") with rule version, inputs and scores,
// interlocks checked and outcome; and the rules with their state.

import { optional } from "./api.js";
import * as live from "./live.js";
import { html, time, ago, notAvailable } from "./util.js";
import { formatValue } from "./chart.js";

const DECISION_CLASS = (d) => (d === "fired" || d === "approved" || d === "command_outcome" ? "ok"
  : d.startsWith("suppressed") || d === "rejected" || d === "fail_safe" ? "warn"
    : d === "alarm_raised" ? "bad" : "neutral");


export function mount(root, params) {
  const filters = { device: params.device || "", rule: params.rule || "" };
  let entries = [], nextBefore = null;
  root.innerHTML = html`
    <div class="page-head"><h1>Decisions</h1><span class="muted">why Reflex did what it did</span></div>
    <div class="decisions-grid">
      <section>
        <div class="toolbar">
          <input id="audit-device" placeholder="Device" value="${filters.device}" aria-label="Filter by device">
          <input id="audit-rule" placeholder="Rule" value="${filters.rule}" aria-label="Filter by rule">
          <button class="secondary" id="audit-apply">Filter</button>
        </div>
        <div id="audit"><div class="muted">Loading…</div></div>
        <button class="secondary" id="audit-more" hidden>Older entries</button>
      </section>
      <aside><div class="card"><h2>Rules</h2><div id="rules"><span class="muted">Loading…</span></div></div></aside>
    </div>`.text;

  function query(before) {
    const q = new URLSearchParams({ limit: "50" });
    if (filters.device) q.set("device", filters.device);
    if (filters.rule) q.set("rule", filters.rule);
    if (before) q.set("before", before);
    return `/api/v1/audit?${q}`;
  }

  function entryHTML(e) {
    const inputs = Object.entries(e.inputs || {});
    return html`<details class="card audit-entry">
      <summary>
        <span class="decision ${DECISION_CLASS(e.decision)}">${e.decision.replaceAll("_", " ")}</span>
        <span class="summary-text">${String(e.summary ?? "")}</span>
        <span class="muted small when" title="${new Date(e.at).toLocaleString()}">${ago(e.at)}</span>
      </summary>
      <div class="audit-body">
        <dl class="attrs">
          <dt>time</dt><dd>${time(e.at)}</dd>
          ${e.device ? html`<dt>device</dt><dd><a href="#/device/${encodeURIComponent(e.device)}?at=${e.at}">${e.device}</a></dd>` : ""}
          ${e.rule ? html`<dt>rule</dt><dd>${e.rule}${e.ruleVersion != null ? ` v${e.ruleVersion}` : ""}</dd>` : ""}
          <dt>actor</dt><dd>${e.actor || "–"}</dd>
          ${e.outcome ? html`<dt>outcome</dt><dd>${e.outcome}</dd>` : ""}
        </dl>
        ${inputs.length ? html`<h4>Inputs and scores</h4><table class="mini">${inputs.map(([k, v]) => html`<tr><td>${k}</td><td class="num">${typeof v === "number" ? formatValue(v) : JSON.stringify(v)}</td></tr>`)}</table>` : ""}
        ${(e.interlocks || []).length ? html`<h4>Interlocks checked</h4><ul class="interlocks">${e.interlocks.map((i) => html`<li class="${i.held ? "held" : "broken"}">${i.held ? "✓" : "✗"} <code>${i.expression}</code> <span class="muted">${i.detail || ""}</span></li>`)}</ul>` : ""}
        ${e.action ? html`<h4>Action</h4><code class="action">${JSON.stringify(e.action)}</code>` : ""}
      </div></details>`;
  }

  async function loadAudit(more = false) {
    const el = root.querySelector("#audit");
    let body;
    try {
      body = await optional(query(more ? nextBefore : null));
    } catch (err) {
      el.innerHTML = html`<div class="empty error"><strong>Cannot load the audit trail</strong><p>${err.message}</p></div>`.text;
      return;
    }
    if (body.missing) {
      el.innerHTML = notAvailable("Automation is not enabled on this node",
        "The audit trail records every decision of the rules once automation runs (the audit API answered 404).").text;
      root.querySelector("#audit-more").hidden = true;
      return;
    }
    entries = more ? entries.concat(body.entries) : body.entries;
    nextBefore = body.nextBefore;
    root.querySelector("#audit-more").hidden = nextBefore == null;
    el.innerHTML = entries.length ? entries.map((e) => entryHTML(e).text).join("") : notAvailable("No decisions yet", "Nothing has fired.").text;
  }

  async function loadRules() {
    const el = root.querySelector("#rules");
    let body;
    try {
      body = await optional("/api/v1/rules");
    } catch (err) {
      el.innerHTML = html`<span class="error-text">${err.message}</span>`.text;
      return;
    }
    if (body.missing) {
      el.innerHTML = html`<span class="muted">No rules engine on this node.</span>`.text;
      return;
    }
    el.innerHTML = body.rules.length ? html`<ul class="list rules">${body.rules.map((r) => html`<li>
      <a href="#/decisions?rule=${encodeURIComponent(r.id)}"><strong>${r.id}</strong></a> <span class="muted small">v${r.version}</span>
      <div>${r.enabled ? html`<span class="pill ok">enabled</span>` : html`<span class="pill muted">disabled</span>`}
        ${r.dryRun ? html`<span class="pill warn">dry-run</span>` : ""}
        ${(r.errors || []).length ? html`<span class="pill bad">${r.errors.length} error${r.errors.length > 1 ? "s" : ""}</span>` : ""}
        ${(r.warnings || []).length ? html`<span class="pill warn">${r.warnings.length} warning${r.warnings.length > 1 ? "s" : ""}</span>` : ""}</div>
      <div class="muted small">last fired ${r.lastFiredAt ? ago(r.lastFiredAt) : "never"} · ${r.firedCount} time${r.firedCount === 1 ? "" : "s"} · ${r.source}</div>
      ${(r.errors || []).map((e) => html`<div class="error-text small">${e}</div>`)}
      ${(r.warnings || []).map((w) => html`<div class="warn-text small">${w}</div>`)}
    </li>`)}</ul>`.text : html`<span class="muted">No rules defined.</span>`.text;
  }

  root.querySelector("#audit-apply").addEventListener("click", () => {
    filters.device = root.querySelector("#audit-device").value.trim();
    filters.rule = root.querySelector("#audit-rule").value.trim();
    loadAudit();
  });
  root.querySelector("#audit-more").addEventListener("click", () => loadAudit(true));
  // New entries arrive in bursts; reload at most once a few seconds after the first.
  let reload = null;
  const off = live.on("audit", () => {
    if (reload) return;
    reload = setTimeout(() => {
      reload = null;
      loadAudit();
    }, 3000);
  });
  const timer = setInterval(loadRules, 30000);
  loadAudit();
  loadRules();
  return () => {
    off();
    clearInterval(timer);
    clearTimeout(reload);
  };
}
