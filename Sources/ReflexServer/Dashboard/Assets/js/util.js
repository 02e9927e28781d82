// Small helpers shared by the screens: safe HTML, times, durations, badges, the confirmation dialog.

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** A tagged template that escapes every interpolated value unless it is raw(...). */
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => {
    if (v instanceof Raw) out += v.text;
    else if (Array.isArray(v)) out += v.map((x) => (x instanceof Raw ? x.text : esc(x))).join("");
    else out += esc(v);
    out += strings[i + 1];
  });
  return new Raw(out);
}

export class Raw {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

export function raw(text) {
  return new Raw(text);
}

export function ago(ms, now = Date.now()) {
  if (ms == null) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function seconds(n) {
  if (n == null) return "–";
  if (n < 60) return `${n} s`;
  if (n < 3600) return `${Math.floor(n / 60)} min`;
  if (n < 86400) return `${Math.floor(n / 3600)} h`;
  return `${Math.floor(n / 86400)} d`;
}

export function time(ms) {
  if (ms == null) return "–";
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

export function until(ms) {
  if (ms == null) return "–";
  const s = Math.round((ms - Date.now()) / 1000);
  if (s <= 0) return "expired";
  // Hours and minutes below a day: a 4 h shelf read a minute later says "3 h 59 min", not "3 h".
  if (s >= 3600 && s < 86400) return `in ${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `in ${seconds(s)}`;
}

/** When a manual override ends: "ends in 25 min", or "until released" without an expiry. */
export function overrideEnd(ms) {
  return ms == null ? "until released" : `ends ${until(ms)}`;
}

export const SEVERITIES = ["critical", "major", "minor", "warning"];

export function severityBadge(severity) {
  return html`<span class="badge sev-${severity}">${severity}</span>`;
}

export function autonomyPill(mode) {
  if (!mode) return html`<span class="pill muted" title="automation not enabled">–</span>`;
  const label = { auto: "auto", manual: "manual", fail_safe: "fail-safe" }[mode] || mode;
  return html`<span class="pill mode-${mode}">${label}</span>`;
}

export function statusDot(online) {
  if (online === true) return html`<span class="dot online"></span>online`;
  if (online === false) return html`<span class="dot offline"></span>offline`;
  return html`<span class="dot unknown"></span>unknown`;
}

export function notAvailable(what, detail) {
  return html`<div class="empty"><strong>${what}</strong><p>${detail}</p></div>`;
}

/**
 * Asks for confirmation in a modal dialog. `fields` are {name, label, type: text|select|textarea,
 * options, value, required}. Resolves to the field values, or null when cancelled.
 */
export function confirmDialog({ title, message, fields = [], confirmLabel = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.innerHTML = html`<form method="dialog">
      <h3>${title}</h3>
      ${message ? html`<p>${message}</p>` : ""}
      ${fields.map((f) => html`<label>${f.label}
        ${f.type === "select"
          ? html`<select name="${f.name}">${f.options.map((o) => html`<option value="${o[0]}" ${o[0] === f.value ? raw("selected") : ""}>${o[1]}</option>`)}</select>`
          : f.type === "textarea"
            ? html`<textarea name="${f.name}" rows="3" ${f.required ? raw("required") : ""}>${f.value || ""}</textarea>`
            : html`<input name="${f.name}" value="${f.value || ""}" ${f.required ? raw("required") : ""} autocomplete="off">`}
      </label>`)}
      <div class="actions">
        <button type="button" class="secondary" data-cancel>Cancel</button>
        <button type="submit" class="${danger ? "danger" : "primary"}" data-confirm>${confirmLabel}</button>
      </div>
    </form>`.text;
    document.body.appendChild(dialog);
    const form = dialog.querySelector("form");
    const finish = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.querySelector("[data-cancel]").addEventListener("click", () => finish(null));
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      finish(null);
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      const values = {};
      for (const f of fields) values[f.name] = form.elements[f.name].value.trim();
      finish(values);
    });
    dialog.showModal();
    const first = form.querySelector("input, textarea, select");
    if (first) first.focus();
  });
}

let toastTimer = null;
export function toast(message, kind = "info") {
  let el = document.getElementById("toast");
  if (!el) {
    el = document.createElement("div");
    el.id = "toast";
    document.body.appendChild(el);
  }
  el.className = `toast ${kind} show`;
  el.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 4000);
}

export const DURATIONS = [["15m", "15 minutes"], ["30m", "30 minutes"], ["1h", "1 hour"], ["4h", "4 hours"],
  ["8h", "8 hours"], ["1d", "1 day"]];
