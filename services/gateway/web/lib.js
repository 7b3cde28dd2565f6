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
  else if (opts.file) {
    // a file is the body itself (attachments): its type as the browser knows it, its name percent-encoded
    headers["Content-Type"] = opts.file.type || "application/octet-stream";
    if (opts.file.name) headers["X-Filename"] = encodeURIComponent(opts.file.name);
    payload = opts.file;
  } else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
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

/* ---------------------------------------------------------------- files and printing */
// The token goes in a header, never in a URL: a file is fetched with it and
// handed to the browser as a blob to save.
export function saveBlob(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
// The name the API gave a file (Content-Disposition, RFC 6266), else fallback.
function dispositionName(r, fallback) {
  const cd = r.headers.get("Content-Disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd), plain = /filename="([^"]+)"/i.exec(cd);
  try { if (star) return decodeURIComponent(star[1]); } catch (e) { /* a bad escape: the plain name */ }
  return plain ? plain[1] : fallback;
}
export async function download(path, fallback) {
  const r = await api("GET", path, undefined, { raw: true });
  const blob = await r.blob();
  const name = dispositionName(r, fallback);
  saveBlob(blob, name);
  return { blob, name };
}
export async function fetchText(path) {
  return (await api("GET", path, undefined, { raw: true })).text();
}

// A printable page (a receipt or a release pass from the API, a claim slip of
// the console's own) is previewed in a frame and printed from there. The frame
// is sandboxed (no script; same origin only so that the console may print it)
// and inherits the console's CSP, which refuses inline styles; the page's own
// policy allows it its <style> and nothing else, so the style is taken out
// before the page is framed and given back as a constructed sheet (a sheet
// runs nothing). The style is cut out of the text before it is parsed (a
// <style> element is raw text up to the first </style>): even an inert parsed
// <style> is reported as a violation. Resolves with the frame once styled.
export function printPreview(page, title) {
  const styles = [];
  const rest = page.replace(/<style\b[^>]*>([\s\S]*?)<\/style\s*>/gi, (m, css) => { styles.push(css); return ""; });
  const doc = new DOMParser().parseFromString(rest, "text/html");
  const css = styles.join("\n");
  $$("script, style, link, base, meta[http-equiv]", doc).forEach((n) => n.remove());
  closePreview();
  const box = document.createElement("div");
  box.id = "print-preview";
  box.className = "overlay";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-label", title);
  mount(box, html`<div class="sheet"><div class="row between"><h3>${title}</h3><div class="row">
    <button type="button" class="primary" data-print>${t("print")}</button>
    <button type="button" class="secondary" data-close>${t("close")}</button></div></div>
    <iframe id="print-frame" sandbox="allow-same-origin allow-modals" title="${title}"></iframe></div>`);
  const frame = $("iframe", box);
  const ready = new Promise((resolve) => frame.addEventListener("load", () => {
    const sheet = new frame.contentWindow.CSSStyleSheet();
    sheet.replaceSync(css);
    frame.contentDocument.adoptedStyleSheets = [sheet];
    resolve(frame);
  }, { once: true }));
  frame.srcdoc = "<!doctype html>" + doc.documentElement.outerHTML;
  box.addEventListener("click", (ev) => {
    if (ev.target === box || ev.target.closest("[data-close]")) closePreview();
    else if (ev.target.closest("[data-print]")) ready.then((f) => f.contentWindow.print());
  });
  box.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closePreview(); });
  document.body.append(box);
  $("[data-print]", box).focus();
  return ready;
}
export function closePreview() {
  const old = document.getElementById("print-preview");
  if (old) old.remove();
}

// A photo's thumbnail painted on a canvas: the console's CSP takes images
// from 'self' only (no blob: URL), and a canvas shows what the browser
// decoded, running nothing.
export async function paintThumb(canvas, blob) {
  const bmp = await createImageBitmap(blob);
  const s = Math.min(canvas.width / bmp.width, canvas.height / bmp.height, 1);
  const w = bmp.width * s, h = bmp.height * s;
  canvas.getContext("2d").drawImage(bmp, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
  bmp.close();
}
export function bytes(n) {
  if (n < 1024) return n + " B";
  return n < 1048576 ? (n / 1024).toFixed(0) + " KB" : (n / 1048576).toFixed(1) + " MB";
}
export const FILE_TYPES = ["image/jpeg", "image/png", "image/webp", "application/pdf"];
export const FILE_MAX = 10 * 1048576;

// The files of a ticket, a unit or a party (附件/证件): upload with a file
// input, the list with thumbnails of photos, a click saves the file. base is
// the resource's path; canList false (an agent and a party's documents): the
// list is not shown, an upload still is.
export async function filesPanel(box, base, { canList = true, alive = () => true } = {}) {
  mount(box, html`<form class="form inline files-form" novalidate>
      <label class="stack grow"><span>${t("f.upload.label")}</span>
        <input type="file" name="file" accept="${FILE_TYPES.join(",")}" multiple></label>
      <button class="secondary">${t("f.upload")}</button><p class="form-error" role="alert"></p></form>
    <p class="ok files-done" role="status"></p>
    ${canList ? html`<ul class="files"><li class="muted">${t("loading")}</li></ul>` : html`<p class="muted">${t("f.nolist")}</p>`}`);
  const form = $("form", box), list = $("ul.files", box);
  async function load() {
    if (!list) return;
    const r = await api("GET", base + "/attachments?limit=100").catch(() => null);
    if (!alive()) return;
    if (!r) { mount(list, html`<li class="muted">${t("f.unavailable")}</li>`); return; }
    mount(list, r.items.length ? html`${r.items.map((a) => html`<li data-att="${a.id}">
        ${a.content_type.startsWith("image/") ? html`<canvas class="thumb" width="96" height="72" data-thumb="${a.id}"></canvas>`
          : html`<span class="thumb doc">PDF</span>`}
        <span><button type="button" class="link file-name" data-file="${a.id}" data-name="${a.filename}">${a.filename}</button>
        <span class="muted small">${bytes(a.size)} · ${dt(a.created_at)}</span></span></li>`)}`
      : html`<li class="muted">${t("f.none")}</li>`);
    // thumbnails one after another: a page of photos is not a burst of requests
    for (const c of $$("canvas[data-thumb]", list)) {
      const got = await api("GET", `${base}/attachments/${c.dataset.thumb}`, undefined, { raw: true, noRetry: true })
        .then((x) => x.blob()).catch(() => null);
      if (!alive()) return;
      if (got) await paintThumb(c, got).catch(() => {});
    }
  }
  if (list) list.addEventListener("click", async (ev) => {
    const b = ev.target.closest("[data-file]") || ev.target.closest("li[data-att]");
    if (!b) return;
    const id = b.dataset.file || b.dataset.att;
    await download(`${base}/attachments/${id}`, b.dataset.name || "attachment").catch((e) => {
      $(".files-done", box).textContent = errText(e);
    });
  });
  onSubmit(form, async () => {
    clearErrors(form);
    const files = Array.from(form.file.files);
    if (!files.length) return fieldError(form, "file", "is required");
    const bad = files.find((f) => !FILE_TYPES.includes(f.type) || f.size > FILE_MAX);
    if (bad) return fieldError(form, "file", bad.size > FILE_MAX ? "must be at most 10 MiB" : "must be a JPEG, PNG, WebP or PDF file");
    try {
      for (const f of files) await api("POST", base + "/attachments", undefined, { file: f });
      form.reset();
      $(".files-done", box).textContent = t("f.uploaded", { n: files.length });
      await load();
    } catch (e) { showErrors(form, e); }
  });
  await load();
}
