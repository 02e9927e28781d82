// Take over: the global autonomy switch (admin), manual override per device (operator), and
// commands waiting for approval (operator). Every action asks for confirmation and a reason.

import { api, optional, can } from "./api.js";
import * as live from "./live.js";
import { html, time, ago, until, autonomyPill, overrideEnd, notAvailable, confirmDialog, toast, DURATIONS } from "./util.js";

export function mount(root) {
  root.innerHTML = html`
    <div class="page-head"><h1>Take over</h1><span class="muted">a person can always take over</span></div>
    <div class="takeover-grid">
      <div class="card" id="autonomy"><h2>Global autonomy</h2><div class="muted">Loading…</div></div>
      <div class="card" id="approvals"><h2>Waiting for approval</h2><div class="muted">Loading…</div></div>
      <div class="card span2" id="overrides"><h2>Devices</h2><div class="muted">Loading…</div></div>
    </div>`.text;

  async function loadAutonomy() {
    const el = root.querySelector("#autonomy");
    const body = await optional("/api/v1/autonomy").catch((err) => ({ error: err.message }));
    if (body.missing || body.error) {
      el.innerHTML = html`<h2>Global autonomy</h2>${body.missing
        ? notAvailable("Automation is not enabled on this node", "Rules do not act on devices, so there is nothing to switch off.")
        : html`<p class="error-text">${body.error}</p>`}`.text;
      return;
    }
    el.innerHTML = html`<h2>Global autonomy</h2>
      <div class="autonomy-state ${body.enabled ? "on" : "off"}" data-testid="autonomy-state">${body.enabled ? "Autonomy ON: rules may act" : "Autonomy OFF: rules only advise"}</div>
      <div class="muted small">${body.changedAt ? `changed ${ago(body.changedAt)} by ${body.changedBy || "?"}${body.reason ? ` — ${body.reason}` : ""}` : "never changed"}</div>
      ${can("admin")
        ? html`<button class="${body.enabled ? "danger" : "primary"}" data-autonomy="${body.enabled ? "off" : "on"}">${body.enabled ? "Switch autonomy off" : "Switch autonomy on"}</button>`
        : html`<p class="muted small">Only an admin can switch autonomy.</p>`}`.text;
  }

  root.querySelector("#autonomy").addEventListener("click", async (e) => {
    const b = e.target.closest("[data-autonomy]");
    if (!b) return;
    const enable = b.dataset.autonomy === "on";
    const v = await confirmDialog({
      title: enable ? "Switch autonomy on?" : "Switch autonomy off for the whole fleet?",
      message: enable ? "Rules will act on devices again (except those in manual mode)." : "Rules keep evaluating and record what they would do, but send no commands.",
      fields: [{ name: "reason", label: "Reason", required: true }],
      confirmLabel: enable ? "Switch on" : "Switch off",
      danger: !enable,
    });
    if (!v) return;
    try {
      await api("/api/v1/autonomy", { method: "PUT", body: { enabled: enable, reason: v.reason } });
      toast(`Autonomy ${enable ? "on" : "off"}`);
    } catch (err) {
      toast(err.message, "error");
    }
    loadAutonomy();
  });

  async function loadApprovals() {
    const el = root.querySelector("#approvals");
    const body = await optional("/api/v1/commands?state=pending_approval&limit=100").catch((err) => ({ error: err.message }));
    if (body.missing) {
      el.innerHTML = html`<h2>Waiting for approval</h2><p class="muted">Automation is not enabled: no commands.</p>`.text;
      return;
    }
    if (body.error) {
      el.innerHTML = html`<h2>Waiting for approval</h2><p class="error-text">${body.error}</p>`.text;
      return;
    }
    // Why each command waits: the rule's approval_requested entry in the audit trail.
    const why = new Map();
    await Promise.all(body.commands.filter((c) => (c.origin || "").startsWith("rule:")).map(async (c) => {
      const rule = c.origin.slice(5).split("@")[0];
      const q = new URLSearchParams({ device: c.device, rule, limit: "20" });
      const audit = await optional(`/api/v1/audit?${q}`).catch(() => null);
      const entry = audit && !audit.missing && audit.entries.find((e) => e.decision === "approval_requested" && e.action && e.action.command === c.id);
      if (entry) why.set(c.id, entry.summary);
    }));
    el.innerHTML = html`<h2>Waiting for approval</h2>${body.commands.length ? html`<ul class="list">${body.commands.map((c) => html`<li data-command="${c.id}">
      <strong>${c.name}</strong> <code class="small">${JSON.stringify(c.params || {})}</code> → <a href="#/device/${encodeURIComponent(c.device)}">${c.device}</a>
      <div class="muted small">${c.origin} · ${time(c.createdAt)} · expires ${until(c.expiresAt)}</div>
      ${why.has(c.id) ? html`<div class="small why">${why.get(c.id)}</div>` : ""}
      ${can("operator") ? html`<div class="row-actions"><button class="primary small" data-approve="yes">Approve</button><button class="danger small" data-approve="no">Reject</button></div>` : ""}
    </li>`)}</ul>` : html`<p class="muted">Nothing waits for approval.</p>`}`.text;
  }

  root.querySelector("#approvals").addEventListener("click", async (e) => {
    const b = e.target.closest("[data-approve]");
    if (!b) return;
    const id = b.closest("[data-command]").dataset.command;
    const approve = b.dataset.approve === "yes";
    const v = await confirmDialog({
      title: approve ? "Approve this command?" : "Reject this command?",
      fields: [{ name: "text", label: approve ? "Note (optional)" : "Reason", required: !approve }],
      confirmLabel: approve ? "Approve" : "Reject",
      danger: !approve,
    });
    if (!v) return;
    try {
      await api(`/api/v1/commands/${encodeURIComponent(id)}/${approve ? "approve" : "reject"}`,
        { method: "POST", body: approve ? (v.text ? { note: v.text } : {}) : { reason: v.text } });
      toast(approve ? "Approved" : "Rejected");
    } catch (err) {
      toast(err.message, "error");
    }
    loadApprovals();
  });

  async function loadOverrides() {
    const el = root.querySelector("#overrides");
    let fleet;
    try {
      fleet = await api("/api/v1/fleet");
    } catch (err) {
      el.innerHTML = html`<h2>Devices</h2><p class="error-text">${err.message}</p>`.text;
      return;
    }
    // The fleet tells each device's mode; the override endpoint tells who, why and until when.
    const details = new Map();
    const probe = fleet.devices.filter((d) => d.autonomy && d.autonomy !== "auto").map((d) => d.id);
    if (!probe.length && fleet.devices.length) probe.push(fleet.devices[0].id);
    let missing = false;
    await Promise.all(probe.map(async (id) => {
      const o = await optional(`/api/v1/devices/${encodeURIComponent(id)}/override`).catch(() => null);
      if (o && o.missing) missing = true;
      else if (o) details.set(id, o);
    }));
    if (missing) {
      el.innerHTML = html`<h2>Devices</h2>${notAvailable("Automation is not enabled on this node", "Manual override needs the automation API (it answered 404).")}`.text;
      return;
    }
    const operator = can("operator");
    el.innerHTML = html`<h2>Devices</h2><table class="overrides"><thead><tr><th>Device</th><th>Autonomy</th><th>Override</th><th></th></tr></thead>
      <tbody>${fleet.devices.map((d) => {
        const o = details.get(d.id);
        const mode = o ? (o.failSafe && o.failSafe.active ? "fail_safe" : o.mode) : d.autonomy;
        const manual = o ? o.mode === "manual" : d.autonomy === "manual";
        return html`<tr data-device="${d.id}"><td><a href="#/device/${encodeURIComponent(d.id)}">${d.id}</a> <span class="muted small">${d.type}</span></td>
          <td>${autonomyPill(mode)}</td>
          <td class="small">${o && o.mode === "manual" ? `${o.by || "?"}: ${o.reason || ""} · ${overrideEnd(o.until)}` : o && o.failSafe && o.failSafe.active ? `fail-safe: ${o.failSafe.reason || ""}` : ""}</td>
          <td class="actions">${operator ? (manual
            ? html`<button class="secondary small" data-override="release">Release</button>`
            : html`<button class="primary small" data-override="manual">Set manual</button>`) : ""}</td></tr>`;
      })}</tbody></table>`.text;
  }

  root.querySelector("#overrides").addEventListener("click", async (e) => {
    const b = e.target.closest("[data-override]");
    if (!b) return;
    const id = b.closest("[data-device]").dataset.device;
    const path = `/api/v1/devices/${encodeURIComponent(id)}/override`;
    if (b.dataset.override === "manual") {
      const v = await confirmDialog({
        title: `Set ${id} to manual?`, message: "Rules stop acting on this device until you release it or the override expires.",
        fields: [{ name: "reason", label: "Reason", required: true }, { name: "for", label: "For", type: "select", options: DURATIONS, value: "1h" }],
        confirmLabel: "Set manual",
      });
      if (!v) return;
      try {
        await api(path, { method: "PUT", body: { reason: v.reason, for: v.for } });
        toast(`${id} is now in manual mode`);
      } catch (err) {
        toast(err.message, "error");
      }
    } else {
      if (!(await confirmDialog({ title: `Release ${id}?`, message: "Rules act on this device again.", confirmLabel: "Release" }))) return;
      try {
        await api(path, { method: "DELETE" });
        toast(`${id} is back on auto`);
      } catch (err) {
        toast(err.message, "error");
      }
    }
    loadOverrides();
  });

  const offs = [live.on("command", () => loadApprovals()), live.on("audit", (e) => {
    if (e.decision !== "operator_action" && e.decision !== "fail_safe") return;
    loadAutonomy();
    loadOverrides();
  })];
  const timer = setInterval(() => {
    loadApprovals();
    loadOverrides();
  }, 15000);
  loadAutonomy();
  loadApprovals();
  loadOverrides();
  return () => {
    offs.forEach((off) => off());
    clearInterval(timer);
  };
}
