// app: the console's shell: sign-in, the property switcher, the menu the
// role allows, the language switch, keyboard shortcuts, the lost-connection
// banner, and a hash router (#/tickets/ID) that hands each screen its element.
// No inline script or style anywhere: the gateway's CSP is default-src 'self'.
import { t, getLang, setLang } from "./i18n.js";
import { api, setToken, getToken, onApi, $, $$, html, mount, showErrors, clearErrors, closePreview } from "./lib.js";
import * as desk from "./desk.js";
import * as units from "./units.js";
import * as billing from "./billing.js";
import * as inbox from "./inbox.js";
import * as registers from "./registers.js";
import * as setup from "./setup.js";
import * as quality from "./quality.js";
import * as patrols from "./patrols.js";

const ROLES_DESK = ["admin", "manager", "agent"];
// The menu: route, label, who sees it. A screen a role cannot use is not shown.
const NAV = [
  { r: "dashboard", k: "nav.dashboard", roles: ROLES_DESK, view: billing.dashboard },
  { r: "call", k: "nav.call", roles: ROLES_DESK, view: desk.call },
  { r: "tickets", k: "nav.tickets", roles: ROLES_DESK.concat("technician"), view: desk.queue },
  { r: "units", k: "nav.units", roles: ROLES_DESK, view: units.search },
  { r: "billing", k: "nav.billing", roles: ROLES_DESK, view: billing.billing },
  { r: "reports", k: "nav.reports", roles: ROLES_DESK, view: billing.reports },
  { r: "inbox", k: "nav.inbox", roles: ROLES_DESK.concat("technician"), view: inbox.inbox, needs: "inbox" },
  { r: "registers", k: "nav.registers", roles: ROLES_DESK, view: registers.registers },
  { r: "patrols", k: "nav.patrols", roles: ROLES_DESK.concat("technician"), view: patrols.patrols },
  { r: "quality", k: "nav.quality", roles: ROLES_DESK, view: quality.quality },
  { r: "setup", k: "nav.setup", roles: ROLES_DESK, view: setup.setup },
];
const DETAIL = { tickets: desk.ticket, units: units.unit, parties: units.party };

const state = { me: null, props: [], pid: sessionStorage.getItem("pm_pid") || "", gen: 0, features: {} };

function applyStatic() {
  document.title = t("app.title");
  $$("[data-t]").forEach((n) => { n.textContent = t(n.dataset.t); });
  $$("[data-lang]").forEach((n) => { n.textContent = t("lang.switch"); });
  $("#login-title").textContent = t("app.title");
  $("#brand").textContent = t("app.short");
  $("#foot").textContent = t("shortcuts");
  document.documentElement.lang = getLang();
}

function navItems() {
  return NAV.filter((n) => state.me && n.roles.includes(state.me.role) && (!n.needs || state.features[n.needs]));
}

function renderNav() {
  const cur = (location.hash.slice(2).split(/[/?]/)[0]) || "";
  mount($("#nav"), html`${navItems().map((n, i) => html`<a href="#/${n.r}" data-route="${n.r}"
      class="${cur === n.r ? "active" : ""}" title="${i < 9 ? "Alt+" + (i + 1) : ""}">${t(n.k)}${i < 9 ? html`<kbd>${i + 1}</kbd>` : ""}</a>`)}`);
  $("#who").textContent = state.me ? `${state.me.username || state.me.name} · ${t("role." + state.me.role)}` : "";
  $("#inbox-link").hidden = !state.features.inbox;
}

function renderProps() {
  const sel = $("#prop");
  mount(sel, html`${state.props.map((p) => html`<option value="${p.id}">${p.name} (${p.code})</option>`)}`);
  sel.value = state.pid;
  sel.disabled = state.props.length < 2;
}

async function start() {
  try {
    state.me = await api("GET", "/v1/auth/me");
  } catch (e) { return showLogin(); }
  const props = await api("GET", "/v1/properties?limit=500").catch(() => ({ items: [] }));
  state.props = props.items || [];
  if (!state.props.some((p) => p.id === state.pid)) state.pid = state.props.length ? state.props[0].id : "";
  sessionStorage.setItem("pm_pid", state.pid);
  // The inbox belongs to the notifications service: shown only when it answers.
  state.features.inbox = await api("GET", "/v1/notifications/unread-count", undefined, { noRetry: true })
    .then((r) => { setBadge(r.unread); return true; }).catch(() => false);
  $("#login").hidden = true;
  $("#shell").hidden = false;
  renderProps();
  if (!navItems().length) { mount($("#view"), html`<p class="empty">${t("err.forbidden")}</p>`); renderNav(); return; }
  if (!location.hash || location.hash === "#/" || location.hash === "#") location.hash = "#/" + navItems()[0].r;
  else route();
}

function setBadge(n) {
  const b = $("#badge");
  b.hidden = !n;
  b.textContent = n > 99 ? "99+" : String(n || "");
}
export function refreshBadge() {
  if (!state.features.inbox) return;
  api("GET", "/v1/notifications/unread-count", undefined, { noRetry: true }).then((r) => setBadge(r.unread)).catch(() => {});
}

function showLogin() {
  state.me = null;
  $("#shell").hidden = true;
  $("#login").hidden = false;
  applyStatic();
  const f = $("#login-form");
  f.reset();
  f.username.focus();
}

function route() {
  if (!state.me) return;
  const gen = ++state.gen;
  const [path, query] = location.hash.slice(2).split("?");
  const parts = path.split("/").filter(Boolean);
  const params = Object.fromEntries(new URLSearchParams(query || ""));
  renderNav();
  closePreview(); // a receipt or slip on screen belongs to the screen it was printed from
  // A fresh element per screen: listeners of the screen before go with it.
  const old = $("#view"), el = old.cloneNode(false);
  old.replaceWith(el);
  const ctx = {
    pid: state.pid, me: state.me, params, id: parts[1], property: state.props.find((p) => p.id === state.pid),
    alive: () => gen === state.gen,
    go: (h) => { location.hash = h; },
    refreshBadge,
    rerender: route,
  };
  let view;
  if (parts[1] && DETAIL[parts[0]]) view = DETAIL[parts[0]];
  else {
    const item = navItems().find((n) => n.r === parts[0]);
    view = item ? item.view : null;
  }
  if (!view) { if (navItems().length) location.hash = "#/" + navItems()[0].r; return; }
  if (!state.pid) { mount(el, html`<p class="empty">${t("property.none")}</p>`); return; }
  mount(el, html`<p class="muted">${t("loading")}</p>`);
  Promise.resolve(view(el, ctx)).catch((e) => {
    if (ctx.alive()) mount(el, html`<p class="form-error">${e.message || e}</p>`);
  });
}

/* ---------------------------------------------------------------- events */
$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  clearErrors(f);
  try {
    const r = await api("POST", "/v1/auth/login", { username: f.username.value, password: f.password.value });
    setToken(r.token);
    await start();
  } catch (e) {
    if (e.status === 401) { $(".form-error", f).textContent = t("login.bad"); f.password.select(); }
    else showErrors(f, e);
  }
});
$("#logout").addEventListener("click", async () => {
  await api("POST", "/v1/auth/logout", undefined, { noRetry: true }).catch(() => {});
  setToken(null);
  sessionStorage.removeItem("pm_pid");
  history.replaceState(null, "", location.pathname);
  showLogin();
});
document.addEventListener("click", (ev) => {
  if (ev.target.closest("[data-lang]")) {
    setLang(getLang() === "en" ? "zh-CN" : "en");
    applyStatic();
    if (state.me) route();
  }
});
$("#prop").addEventListener("change", (ev) => {
  state.pid = ev.target.value;
  sessionStorage.setItem("pm_pid", state.pid);
  const first = location.hash.slice(2).split(/[/?]/)[0];
  location.hash = "#/" + (first || "dashboard");
  route();
});
window.addEventListener("hashchange", route);
// Typing into a field marked wrong takes its mark away: the error was about the old value.
document.addEventListener("input", (ev) => {
  const f = ev.target;
  if (!f.classList || !f.classList.contains("invalid")) return;
  f.classList.remove("invalid");
  f.removeAttribute("aria-invalid");
  const next = (f.closest("label") || f).nextElementSibling;
  if (next && next.classList.contains("field-error")) next.remove();
  const form = f.closest("form");
  if (form && !form.querySelector(".invalid")) { const box = form.querySelector(".form-error"); if (box) box.textContent = ""; }
});
document.addEventListener("keydown", (ev) => {
  if (!state.me) return;
  if (ev.key === "F2") { ev.preventDefault(); if (location.hash === "#/call") route(); else location.hash = "#/call"; return; }
  if (ev.altKey && /^[1-9]$/.test(ev.key)) {
    const item = navItems()[Number(ev.key) - 1];
    if (item) { ev.preventDefault(); location.hash = "#/" + item.r; }
    return;
  }
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (ev.key === "/" && !typing) {
    const s = $("#view [data-search]");
    if (s) { ev.preventDefault(); s.focus(); s.select(); }
  }
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
    const f = document.activeElement.closest && document.activeElement.closest("form");
    if (f) { ev.preventDefault(); f.requestSubmit(); }
  }
});

let netTimer = 0;
onApi("offline", () => { clearTimeout(netTimer); const n = $("#net"); n.className = "net bad"; n.textContent = t("net.offline"); n.hidden = false; });
onApi("online", () => {
  const n = $("#net"); n.className = "net good"; n.textContent = t("net.back");
  netTimer = setTimeout(() => { n.hidden = true; }, 2500);
});
onApi("unauth", () => { if (state.me) { setToken(null); showLogin(); $(".form-error", $("#login-form")).textContent = t("err.unauthenticated"); } });
setInterval(refreshBadge, 60000);

applyStatic();
if (getToken()) start(); else showLogin();
