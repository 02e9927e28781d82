// Alarms console: open and recent alarms; acknowledge, shelve with expiry, add a note (operator),
// jump to the device at the alarm's time.

import { api, optional, can } from "./api.js";
import * as live from "./live.js";
import { html, time, ago, until, severityBadge, notAvailable, confirmDialog, toast, DURATIONS, SEVERITIES } from "./util.js";

export function mount(root) {
  let view = "open";
  root.innerHTML = html`
    <div class="page-head"><h1>Alarms</h1><span class="muted" id="alarms-updated"></span></div>
    <div class="toolbar">
      <button class="seg active" data-view="open">Open</button>
      <button class="seg" data-view="all">Recent</button>
    </div>
    <div id="alarms-body"><div class="muted">Loading…</div></div>`.text;
  const body = root.querySelector("#alarms-body");

  async function load() {
    let result;
    try {
      result = await optional(`/api/v1/alarms?state=${view}&limit=200`);
    } catch (err) {
      body.innerHTML = html`<div class="empty error"><strong>Cannot load alarms</strong><p>${err.message}</p></div>`.text;
      return;
    }
    if (result.missing) {
      body.innerHTML = notAvailable("Automation is not enabled on this node",
        "There are no alarms to show: the alarms API answered 404. Alarms appear here once rules run.").text;
      return;
    }
    root.querySelector("#alarms-updated").textContent = `updated ${ago(Date.now())}`;
    const rank = (a) => (a.state === "active" ? 0 : a.state === "acknowledged" ? 1 : 2) * 10 + SEVERITIES.indexOf(a.severity);
    const alarms = result.alarms.slice().sort((a, b) => rank(a) - rank(b) || b.raisedAt - a.raisedAt);
    if (!alarms.length) {
      body.innerHTML = notAvailable(view === "open" ? "No open alarms" : "No alarms yet", "All quiet.").text;
      return;
    }
    const operator = can("operator");
    body.innerHTML = html`<div class="card table-card"><table class="alarms">
      <thead><tr><th>Severity</th><th>Device</th><th>Alarm</th><th>Raised</th><th>State</th><th>Notes</th><th></th></tr></thead>
      <tbody>${alarms.map((a) => html`<tr data-alarm="${a.id}" class="alarm-${a.state}">
        <td>${severityBadge(a.severity)}${a.flapping ? html` <span class="chip warn">flapping</span>` : ""}</td>
        <td><a href="#/device/${encodeURIComponent(a.device)}?at=${a.raisedAt}" title="show the device at the alarm's time">${a.device}</a></td>
        <td><strong>${a.type}</strong><div class="muted small">${a.message || ""}${a.rule ? ` · rule ${a.rule}` : ""}</div></td>
        <td title="${new Date(a.raisedAt).toLocaleString()}">${ago(a.raisedAt)}</td>
        <td><span class="state-${a.state}">${a.state}</span>
          ${a.acknowledgedBy ? html`<div class="muted small">ack by ${a.acknowledgedBy} ${ago(a.acknowledgedAt)}</div>` : ""}
          ${a.shelvedUntil && a.shelvedUntil > Date.now() ? html`<div class="muted small">shelved, ends ${until(a.shelvedUntil)}</div>` : ""}
          ${a.clearedAt ? html`<div class="muted small">cleared ${time(a.clearedAt)}</div>` : ""}</td>
        <td class="notes">${(a.notes || []).slice(-2).map((n) => html`<div class="small"><span class="muted">${n.by}:</span> ${n.text}</div>`)}</td>
        <td class="actions">${operator && a.state !== "cleared" ? html`
          ${a.state === "active" ? html`<button class="primary small" data-act="ack">Acknowledge</button>` : ""}
          ${a.shelvedUntil && a.shelvedUntil > Date.now()
            ? html`<button class="secondary small" data-act="unshelve">Unshelve</button>`
            : html`<button class="secondary small" data-act="shelve">Shelve</button>`}
          <button class="secondary small" data-act="note">Note</button>` : ""}</td>
      </tr>`)}</tbody></table></div>`.text;
  }

  body.addEventListener("click", async (e) => {
    const button = e.target.closest("[data-act]");
    if (!button) return;
    const row = button.closest("[data-alarm]");
    const id = row.dataset.alarm;
    const label = row.querySelector("strong").textContent + " on " + row.querySelector("a").textContent;
    const path = `/api/v1/alarms/${encodeURIComponent(id)}`;
    let request = null;
    if (button.dataset.act === "ack") {
      const v = await confirmDialog({ title: `Acknowledge ${label}?`, fields: [{ name: "note", label: "Note (optional)" }], confirmLabel: "Acknowledge" });
      if (v) request = [`${path}/acknowledge`, v.note ? { note: v.note } : {}];
    } else if (button.dataset.act === "shelve") {
      const v = await confirmDialog({
        title: `Shelve ${label}?`, message: "A shelved alarm is hidden from notifications until the shelf expires.",
        fields: [{ name: "for", label: "For", type: "select", options: DURATIONS, value: "1h" }, { name: "reason", label: "Reason", required: true }],
        confirmLabel: "Shelve",
      });
      if (v) request = [`${path}/shelve`, { for: v.for, reason: v.reason }];
    } else if (button.dataset.act === "unshelve") {
      const v = await confirmDialog({ title: `Unshelve ${label}?`, confirmLabel: "Unshelve" });
      if (v) request = [`${path}/unshelve`, {}];
    } else if (button.dataset.act === "note") {
      const v = await confirmDialog({ title: `Note on ${label}`, fields: [{ name: "text", label: "Note", type: "textarea", required: true }], confirmLabel: "Add note" });
      if (v) request = [`${path}/notes`, { text: v.text }];
    }
    if (!request) return;
    try {
      await api(request[0], { method: "POST", body: request[1] });
      toast("Done");
    } catch (err) {
      toast(err.message, "error");
    }
    load();
  });

  root.querySelector(".toolbar").addEventListener("click", (e) => {
    const b = e.target.closest("[data-view]");
    if (!b) return;
    view = b.dataset.view;
    for (const x of root.querySelectorAll("[data-view]")) x.classList.toggle("active", x === b);
    load();
  });

  const off = live.on("alarm", () => load());
  const timer = setInterval(load, 10000);
  load();
  return () => {
    off();
    clearInterval(timer);
  };
}
