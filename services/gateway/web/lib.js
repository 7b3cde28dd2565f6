// lib: what every screen shares: the escaping template, the API client (token
// in memory + sessionStorage, never in a URL; retries on a lost connection),
// formatting of money and time, and showing API errors next to their fields.
import { t, tp, getLang } from "./i18n.js";

/* ---------------------------------------------------------------- escaping */
// html`...${v}...` escapes every value unless it is itself an html`` result,
// so nothing that came from the API or a user can become markup.
export class Safe { constructor(s) { this.s = s; } toString() { return this.s; } }
const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function esc(v) {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof Safe) return v.s;
  if (Array.isArray(v)) return v.map(esc).join("");
  return String(v).replace(/[&<>"']/g, (c) => ESC[c]);
}
export function html(strings, ...vals) {
  let out = strings[0];
  for (let i = 0; i < vals.length; i++) out += esc(vals[i]) + strings[i + 1];
  return new Safe(out);
}
export function mount(el, safe) { el.innerHTML = esc(safe); }
export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/* ---------------------------------------------------------------- API client */
let token = sessionStorage.getItem("pm_token");
export function getToken() { return token; }
export function setToken(tk) {
  token = tk;
  if (tk) sessionStorage.setItem("pm_token", tk); else sessionStorage.removeItem("pm_token");
}

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || "HTTP " + status);
    this.status = status;
    this.code = e.code || (status === 502 ? "bad_gateway" : "unknown");
    this.details = Array.isArray(e.details) ? e.details : [];
  }
}

const hooks = { offline: () => {}, online: () => {}, unauth: () => {} };
export function onApi(name, fn) { hooks[name] = fn; }
let offline = false;
function setOffline(v) {
  if (v === offline) return;
  offline = v;
  (v ? hooks.offline : hooks.online)();
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// Every POST carries an Idempotency-Key, so a POST whose answer was lost with
// the connection is sent again safely: the gateway replays the first answer.
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  let payload;
  if (opts.csv !== undefined) { headers["Content-Type"] = "text/csv; charset=utf-8"; payload = opts.csv; }
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  if (method === "POST" && path !== "/v1/auth/login" && path !== "/v1/auth/logout") headers["Idempotency-Key"] = uuid();
  let delay = 1000, busy = 0;
  for (;;) {
    let r;
    try {
      r = await fetch(path, { method, headers, body: payload, cache: "no-store" });
    } catch (e) {
      if (opts.noRetry) throw new ApiError(0, null);
      setOffline(true);
      await sleep(delay);
      delay = Math.min(delay * 2, 8000);
      continue;
    }
    setOffline(false);
    if ((r.status === 503 || r.status === 504) && method === "GET" && busy < 2) { busy++; await sleep(800); continue; }
    if (opts.raw && r.ok) return r;
    const data = r.status === 204 ? null : await r.json().catch(() => null);
    if (!r.ok) {
      if (r.status === 401 && path !== "/v1/auth/login") hooks.unauth();
      throw new ApiError(r.status, data);
    }
    return data;
  }
}
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, v);
  const s = u.toString();
  return s ? "?" + s : "";
}

/* ---------------------------------------------------------------- errors next to fields */
export function errText(e) {
  if (!(e instanceof ApiError)) return t("err.unknown") + (e && e.message ? ": " + e.message : "");
  const s = t("err." + e.code);
  return s === "err." + e.code ? t("err.unknown") + " (" + e.code + ")" : s;
}
// Clears the form's old errors, then puts each detail under the input whose
// name is its field; details of no field and the code's text go to the form's
// .form-error line.
export function showErrors(form, e) {
  clearErrors(form);
  const general = [];
  const details = e instanceof ApiError ? e.details : [];
  for (const d of details) {
    const field = d.field || "";
    const input = field && form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (input) {
      input.classList.add("invalid");
      input.setAttribute("aria-invalid", "true");
      const p = document.createElement("div");
      p.className = "field-error";
      p.textContent = tp(d.problem || "");
      (input.closest("label") || input).after(p);
    } else if (d.problem) {
      general.push((field ? field + ": " : "") + tp(d.problem));
    }
  }
  const box = form.querySelector(".form-error");
  if (box) box.textContent = [errText(e)].concat(general).join(" · ");
  const first = form.querySelector(".invalid");
  if (first) first.focus();
}
export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((n) => n.remove());
  form.querySelectorAll(".invalid").forEach((n) => { n.classList.remove("invalid"); n.removeAttribute("aria-invalid"); });
  const box = form.querySelector(".form-error");
  if (box) box.textContent = "";
}
export function fieldError(form, name, problemKey) {
  showErrors(form, Object.assign(new ApiError(422, null), { code: "validation_failed", details: [{ field: name, problem: problemKey }] }));
}

// A form's submit handler that runs once at a time: a double Enter or click
// while the request is on its way does not send it twice.
export function onSubmit(form, fn) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (form.dataset.busy) return;
    form.dataset.busy = "1";
    const buttons = Array.from(form.querySelectorAll("button:not([type=button])"));
    buttons.forEach((b) => { b.disabled = true; });
    try { await fn(ev); } finally { delete form.dataset.busy; buttons.forEach((b) => { b.disabled = false; }); }
  });
}

/* ---------------------------------------------------------------- formatting */
export function money(fen) {
  if (fen === null || fen === undefined) return "—";
  const neg = fen < 0; let v = Math.abs(Math.trunc(fen));
  const yuan = Math.trunc(v / 100).toLocaleString("en-US");
  return (neg ? "-" : "") + "¥" + yuan + "." + String(v % 100).padStart(2, "0");
}
// "12.5" -> 1250 fen, exactly (no float arithmetic); null when not an amount
export function toFen(s) {
  const m = /^\s*(\d{1,12})(?:\.(\d{1,2}))?\s*$/.exec(String(s));
  if (!m) return null;
  return parseInt(m[1], 10) * 100 + parseInt((m[2] || "0").padEnd(2, "0"), 10);
}
const pad = (n) => String(n).padStart(2, "0");
export function dt(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export function shortDt(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export function ymd(d) { return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; }
export function period(d) { return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`; }
export function duration(ms) {
  const m = Math.floor(Math.abs(ms) / 60000);
  const zh = getLang() !== "en";
  if (m < 1) return zh ? "<1分" : "<1m"; // "0 minutes over" reads as not over
  if (m < 60) return zh ? `${m}分` : `${m}m`;
  const h = Math.floor(m / 60), mm = m % 60;
  if (h < 48) return zh ? `${h}小时${pad(mm)}分` : `${h}h${pad(mm)}m`;
  return zh ? `${Math.floor(h / 24)}天${h % 24}小时` : `${Math.floor(h / 24)}d${h % 24}h`;
}
export function pct(v) { return v === null || v === undefined ? "—" : (Math.round(v * 10) / 10) + "%"; }
