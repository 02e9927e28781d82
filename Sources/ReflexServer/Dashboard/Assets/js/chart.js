// A small time-series chart on <canvas>: a line (with the min/max envelope of rollup buckets), the
// detector's expected band, an anomaly-score strip under the plot, and markers (alarms, commands, a
// chosen instant) on the time axis. Redraws are batched into one requestAnimationFrame for all
// charts, and each chart keeps at most MAX_POINTS points, so 50 devices streaming stay smooth.

const MAX_POINTS = 1500;
const SCORE_STRIP = 8;
const dirty = new Set();
let frameRequested = false;

function requestDraw(chart) {
  dirty.add(chart);
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    const charts = [...dirty];
    dirty.clear();
    for (const c of charts) if (c.canvas.isConnected) c.draw();
  });
}

function css(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / power;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * power;
}

const TIME_STEPS = [1e3, 5e3, 15e3, 30e3, 60e3, 300e3, 900e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3,
  12 * 3600e3, 86400e3, 2 * 86400e3, 7 * 86400e3];

function formatTick(t, step) {
  const d = new Date(t);
  const pad = (n) => String(n).padStart(2, "0");
  if (step >= 86400e3) return `${d.getDate()}/${d.getMonth() + 1}`;
  if (step < 60e3) return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The band merged per column of `width` pixels: the widest lower..upper, the mean expected value
 * and the highest score of the points in the column. The detector reports the band of the
 * component that set each score, which can switch from one sample to the next (a narrow and a
 * wide band alternating); drawn point by point that is a comb, merged it is the envelope a
 * person reads. A high score is never averaged away. The band is then widened to the envelope of
 * `reach` columns either side (runs of a dozen narrow samples are common).
 */
export function mergeBand(band, x, width = 3, reach = 2) {
  const columns = [];
  let cur = null;
  for (const b of band) {
    const key = Math.floor(x(b.t) / width);
    if (!cur || cur.key !== key) {
      cur = { key, t: b.t, lower: null, upper: null, sum: 0, n: 0, score: null };
      columns.push(cur);
    }
    if (b.lower != null) cur.lower = cur.lower == null ? b.lower : Math.min(cur.lower, b.lower);
    if (b.upper != null) cur.upper = cur.upper == null ? b.upper : Math.max(cur.upper, b.upper);
    if (b.expected != null) {
      cur.sum += b.expected;
      cur.n += 1;
    }
    if (b.score != null) cur.score = cur.score == null ? b.score : Math.max(cur.score, b.score);
  }
  return columns.map((c, i) => {
    let lower = c.lower, upper = c.upper;
    for (let j = Math.max(0, i - reach); j <= Math.min(columns.length - 1, i + reach); j++) {
      const o = columns[j];
      if (o.lower != null && lower != null) lower = Math.min(lower, o.lower);
      if (o.upper != null && upper != null) upper = Math.max(upper, o.upper);
    }
    return { t: c.t, lower, upper, expected: c.n ? c.sum / c.n : null, score: c.score };
  });
}

export function formatValue(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

export class TimeChart {
  constructor(canvas, { height = 160 } = {}) {
    this.canvas = canvas;
    this.height = height;
    this.points = []; // {t, v, lo?, hi?} sorted by t
    this.band = []; // {t, expected, lower, upper, score}
    this.markers = []; // {t, color, label}
    this.from = Date.now() - 3600e3;
    this.to = Date.now();
    this.follow = 0; // when > 0, the window is [now - follow, now]
    this.hover = null;
    canvas.style.height = `${height}px`;
    canvas.addEventListener("mousemove", (e) => {
      const rect = canvas.getBoundingClientRect();
      this.hover = e.clientX - rect.left;
      requestDraw(this);
    });
    canvas.addEventListener("mouseleave", () => {
      this.hover = null;
      requestDraw(this);
    });
    if (typeof ResizeObserver !== "undefined") {
      this.observer = new ResizeObserver(() => requestDraw(this));
      this.observer.observe(canvas);
    }
  }

  setWindow(from, to, follow = 0) {
    this.from = from;
    this.to = to;
    this.follow = follow;
    requestDraw(this);
  }

  setPoints(points) {
    this.points = points.slice(-MAX_POINTS);
    requestDraw(this);
  }

  /** Adds one live sample; keeps the points sorted and capped. */
  append(t, v) {
    const pts = this.points;
    if (pts.length === 0 || t > pts[pts.length - 1].t) pts.push({ t, v });
    else if (t === pts[pts.length - 1].t) pts[pts.length - 1] = { t, v };
    else {
      let i = pts.length - 1;
      while (i > 0 && pts[i - 1].t > t) i--;
      if (pts[i - 1] && pts[i - 1].t === t) pts[i - 1] = { t, v };
      else pts.splice(i, 0, { t, v });
    }
    if (pts.length > MAX_POINTS) pts.splice(0, pts.length - MAX_POINTS);
    requestDraw(this);
  }

  setBand(band) {
    this.band = band.slice(-MAX_POINTS);
    requestDraw(this);
  }

  appendBand(entry) {
    this.band.push(entry);
    if (this.band.length > MAX_POINTS) this.band.splice(0, this.band.length - MAX_POINTS);
    requestDraw(this);
  }

  setMarkers(markers) {
    this.markers = markers;
    requestDraw(this);
  }

  /** Points inside the window (what the chart shows). */
  visiblePoints() {
    const { from, to } = this.window();
    return this.points.filter((p) => p.t >= from && p.t <= to);
  }

  window() {
    if (this.follow > 0) {
      const now = Date.now();
      return { from: now - this.follow, to: now };
    }
    return { from: this.from, to: this.to };
  }

  redraw() {
    requestDraw(this);
  }

  draw() {
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 300;
    const height = this.height;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const colors = {
      line: css("--chart-line", "#2563eb"),
      envelope: css("--chart-envelope", "rgba(37,99,235,0.12)"),
      band: css("--chart-band", "rgba(124,58,237,0.12)"),
      expected: css("--chart-expected", "#7c3aed"),
      grid: css("--chart-grid", "#e5e7eb"),
      text: css("--muted", "#6b7280"),
    };
    const { from, to } = this.window();
    const left = 48, right = 8, top = 8, bottom = 20 + (this.band.length ? SCORE_STRIP + 4 : 0);
    const plotW = Math.max(10, width - left - right);
    const plotH = Math.max(10, height - top - bottom);
    const visible = this.points.filter((p) => p.t >= from && p.t <= to);
    const inWindow = this.band.filter((b) => b.t >= from && b.t <= to);
    canvas.dataset.points = String(visible.length);
    canvas.dataset.last = visible.length ? String(visible[visible.length - 1].v) : "";

    let min = Infinity, max = -Infinity;
    for (const p of visible) {
      min = Math.min(min, p.lo ?? p.v);
      max = Math.max(max, p.hi ?? p.v);
    }
    for (const b of inWindow) {
      if (b.lower != null) min = Math.min(min, b.lower);
      if (b.upper != null) max = Math.max(max, b.upper);
    }
    if (!Number.isFinite(min)) {
      min = 0;
      max = 1;
    }
    if (max - min < 1e-9) {
      const pad = Math.abs(max) * 0.05 || 1;
      min -= pad;
      max += pad;
    }
    const padY = (max - min) * 0.08;
    min -= padY;
    max += padY;
    const x = (t) => left + ((t - from) / (to - from)) * plotW;
    const y = (v) => top + (1 - (v - min) / (max - min)) * plotH;
    const band = mergeBand(inWindow, x, 3, Math.max(1, Math.round(plotW / 180)));

    // Grid and axes.
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = colors.text;
    ctx.strokeStyle = colors.grid;
    ctx.lineWidth = 1;
    const step = niceStep(max - min, 4);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let v = Math.ceil(min / step) * step; v <= max; v += step) {
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, yy);
      ctx.lineTo(left + plotW, yy);
      ctx.stroke();
      const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
      ctx.fillText(Math.abs(v) >= 1e6 ? v.toExponential(1) : v.toFixed(decimals), left - 6, yy);
    }
    const tStep = TIME_STEPS.find((s) => (to - from) / s <= Math.max(2, plotW / 90)) || TIME_STEPS[TIME_STEPS.length - 1];
    const offset = new Date().getTimezoneOffset() * 60e3;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let t = Math.ceil((from - offset) / tStep) * tStep + offset; t <= to; t += tStep) {
      const xx = Math.round(x(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(xx, top);
      ctx.lineTo(xx, top + plotH);
      ctx.stroke();
      ctx.fillText(formatTick(t, tStep), xx, top + plotH + 4);
    }

    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, plotW, plotH);
    ctx.clip();

    // The detector's expected band and expected value.
    const withBand = band.filter((b) => b.lower != null && b.upper != null);
    if (withBand.length > 1) {
      ctx.fillStyle = colors.band;
      ctx.beginPath();
      withBand.forEach((b, i) => (i ? ctx.lineTo(x(b.t), y(b.upper)) : ctx.moveTo(x(b.t), y(b.upper))));
      for (let i = withBand.length - 1; i >= 0; i--) ctx.lineTo(x(withBand[i].t), y(withBand[i].lower));
      ctx.closePath();
      ctx.fill();
    }
    const withExpected = band.filter((b) => b.expected != null);
    if (withExpected.length > 1) {
      ctx.strokeStyle = colors.expected;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      withExpected.forEach((b, i) => (i ? ctx.lineTo(x(b.t), y(b.expected)) : ctx.moveTo(x(b.t), y(b.expected))));
      ctx.stroke();
      ctx.setLineDash([]);
    }

    // Rollup envelope (min..max per bucket).
    const env = visible.filter((p) => p.lo != null && p.hi != null);
    if (env.length > 1) {
      ctx.fillStyle = colors.envelope;
      ctx.beginPath();
      env.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.hi)) : ctx.moveTo(x(p.t), y(p.hi))));
      for (let i = env.length - 1; i >= 0; i--) ctx.lineTo(x(env[i].t), y(env[i].lo));
      ctx.closePath();
      ctx.fill();
    }

    // The line itself.
    if (visible.length) {
      ctx.strokeStyle = colors.line;
      ctx.lineWidth = 1.75;
      ctx.lineJoin = "round";
      ctx.beginPath();
      visible.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v)) : ctx.moveTo(x(p.t), y(p.v))));
      ctx.stroke();
      const last = visible[visible.length - 1];
      ctx.fillStyle = colors.line;
      ctx.beginPath();
      ctx.arc(x(last.t), y(last.v), 3, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.restore();

    // Anomaly score strip: one cell per scored point, from calm to alarming.
    if (band.length) {
      const sy = top + plotH + 20;
      ctx.fillStyle = colors.grid;
      ctx.fillRect(left, sy, plotW, SCORE_STRIP);
      band.forEach((b, i) => {
        if (b.score == null) return;
        const x0 = x(b.t);
        const x1 = i + 1 < band.length ? x(band[i + 1].t) : x0 + 2;
        ctx.fillStyle = scoreColor(b.score);
        ctx.fillRect(x0, sy, Math.max(1, x1 - x0), SCORE_STRIP);
      });
    }

    // Markers on the time axis.
    for (const m of this.markers) {
      if (m.t < from || m.t > to) continue;
      const xx = Math.round(x(m.t)) + 0.5;
      ctx.strokeStyle = m.color;
      ctx.lineWidth = m.kind === "at" ? 2 : 1;
      ctx.setLineDash(m.kind === "command" ? [2, 2] : []);
      ctx.beginPath();
      ctx.moveTo(xx, top);
      ctx.lineTo(xx, top + plotH);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = m.color;
      ctx.beginPath();
      if (m.kind === "command") {
        ctx.rect(xx - 3, top + plotH - 6, 6, 6);
      } else {
        ctx.moveTo(xx - 5, top);
        ctx.lineTo(xx + 5, top);
        ctx.lineTo(xx, top + 7);
      }
      ctx.fill();
    }

    // Hover read-out.
    if (this.hover != null && visible.length) {
      const t = from + ((this.hover - left) / plotW) * (to - from);
      let best = visible[0];
      for (const p of visible) if (Math.abs(p.t - t) < Math.abs(best.t - t)) best = p;
      const xx = x(best.t);
      ctx.strokeStyle = colors.text;
      ctx.beginPath();
      ctx.moveTo(xx + 0.5, top);
      ctx.lineTo(xx + 0.5, top + plotH);
      ctx.stroke();
      const label = `${new Date(best.t).toLocaleTimeString()}  ${formatValue(best.v)}`;
      const near = this.markers.filter((m) => Math.abs(x(m.t) - this.hover) < 6).map((m) => m.label);
      const text = near.length ? `${label}  · ${near.join(", ")}` : label;
      ctx.font = "12px system-ui, sans-serif";
      const w = ctx.measureText(text).width + 10;
      const bx = Math.min(Math.max(left, xx - w / 2), left + plotW - w);
      ctx.fillStyle = "rgba(17,24,39,0.88)";
      ctx.fillRect(bx, top, w, 18);
      ctx.fillStyle = "#fff";
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.fillText(text, bx + 5, top + 9);
    }
  }
}

export function scoreColor(score) {
  if (score >= 0.9) return "#dc2626";
  if (score >= 0.7) return "#f97316";
  if (score >= 0.4) return "#facc15";
  return "#86efac";
}

/** Redraws every following chart at least once a second so the window slides smoothly. */
export function tick(charts) {
  for (const c of charts) if (c.follow > 0) requestDraw(c);
}
