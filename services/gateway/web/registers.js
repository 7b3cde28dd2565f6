// registers: the desk's registers (前台登记): visitors (出入人员登记) with the
// on-site list, a day's register, search and the day's CSV; items left at the
// desk (物件存放) with their claim code and a printable slip; vehicle passes
// (车辆通行证) with the barrier's plate check. One tab each (#/registers?tab=).
import { t, tv } from "./i18n.js";
import { Safe, api, qs, html, mount, onSubmit, $, showErrors, clearErrors, fieldError, errText, dt, shortDt, duration, ymd, download, printPreview } from "./lib.js";

const P = (ctx) => `/v1/properties/${ctx.pid}`;
const TABS = ["visitors", "items", "passes"];
const PURPOSES = ["拜访", "面试", "送货", "快递", "外卖", "维修", "装修", "看房"];
const canManage = (ctx) => ctx.me.role === "admin" || ctx.me.role === "manager";
function debounce(fn, ms) { let h = 0; return (...a) => { clearTimeout(h); h = setTimeout(() => fn(...a), ms); }; }

export async function registers(el, ctx) {
  const tab = TABS.includes(ctx.params.tab) ? ctx.params.tab : "visitors";
  mount(el, html`<h1 class="title">${t("nav.registers")}</h1>
    <nav class="tabs" role="tablist">${TABS.map((k) => html`<a href="#/registers?tab=${k}" role="tab" id="tab-${k}"
      aria-selected="${k === tab ? "true" : "false"}" class="${k === tab ? "active" : ""}">${t("reg.tab." + k)}</a>`)}</nav>
    <div id="reg-body"></div>`);
  await ({ visitors, items, passes })[tab]($("#reg-body", el), ctx);
}

/* ---------------------------------------------------------------- a unit by its code */
// The desk types a unit's code, the API takes its id. The code's input is
// named after the API's field (visiting_unit_id, unit_id), so that the API's
// problems with it show next to it.
function unitInput(name, listId) {
  return html`<input name="${name}" list="${listId}" autocomplete="off" placeholder="A-1201" data-unit-code>
    <datalist id="${listId}"></datalist>`;
}
function suggestUnits(form, ctx) {
  form.addEventListener("input", debounce(async (ev) => {
    if (!ev.target.matches("[data-unit-code]")) return;
    const q = ev.target.value.trim();
    if (!q) return;
    const r = await api("GET", P(ctx) + "/units" + qs({ q, limit: 8 })).catch(() => ({ items: [] }));
    const dl = document.getElementById(ev.target.getAttribute("list"));
    if (dl) mount(dl, html`${r.items.map((u) => html`<option value="${u.code}">${u.building || ""} ${u.floor || ""}</option>`)}`);
  }, 250));
}
// The unit's id for the code typed in form[name]: undefined when empty, null
// (with the error shown) when no unit of this property has that code.
async function unitOf(form, name, ctx) {
  const code = form[name].value.trim();
  if (!code) return undefined;
  const r = await api("GET", P(ctx) + "/units" + qs({ q: code, limit: 20 }));
  const u = r.items.find((x) => x.code.toLowerCase() === code.toLowerCase());
  if (!u) { fieldError(form, name, "no such unit in this property"); return null; }
  return u.id;
}
// The form's text fields that are filled, trimmed, as a request body.
function filled(form, names) {
  const b = {};
  for (const n of names) { const v = form[n].value.trim(); if (v) b[n] = v; }
  return b;
}

/* ---------------------------------------------------------------- visitors */
function visitorsView() {
  return html`<div class="grid2">
    <section class="panel"><h3>${t("vis.register")}</h3>
      <form id="vis-form" class="form" novalidate>
        <div class="row"><label class="stack grow"><span>${t("vis.name")}</span><input name="name" maxlength="100" autocomplete="off"></label>
          <label class="stack"><span>${t("vis.phone")}</span><input name="phone" inputmode="tel" autocomplete="off"></label></div>
        <div class="row"><label class="stack"><span>${t("vis.unit")}</span>${unitInput("visiting_unit_id", "vis-units")}</label>
          <label class="stack grow"><span>${t("vis.purpose")}</span><input name="purpose" list="vis-purposes" autocomplete="off"></label>
          <datalist id="vis-purposes">${PURPOSES.map((p) => html`<option value="${p}"></option>`)}</datalist></div>
        <div class="row"><label class="stack grow"><span>${t("vis.id_number")}</span><input name="id_number" autocomplete="off"></label>
          <label class="stack"><span>${t("vis.plate")}</span><input name="vehicle_plate" autocomplete="off" placeholder="粤B12345"></label></div>
        <div class="row between"><label class="check"><input type="checkbox" name="check_in" checked> ${t("vis.check_in_now")}</label>
          <button class="primary">${t("vis.submit")}</button></div>
        <p class="form-error" role="alert"></p><p class="ok" id="vis-done" role="status"></p>
      </form></section>
    <section class="panel"><h3>${t("vis.on_site")} <span class="count" id="vis-on-count"></span></h3>
      <table class="grid" id="vis-on"><thead><tr><th>${t("vis.name")}</th><th>${t("vis.phone")}</th><th>${t("vis.unit")}</th>
        <th>${t("vis.purpose")}</th><th>${t("vis.in_at")}</th><th></th></tr></thead><tbody></tbody></table></section>
  </div>
  <section class="panel"><div class="row between"><h3 id="vis-day-title"></h3>
    <form id="vis-filter" class="filters" role="search">
      <input type="date" name="date" value="${ymd(new Date())}" aria-label="${t("vis.date")}">
      <input name="q" data-search autocomplete="off" placeholder="${t("vis.q")}" aria-label="${t("vis.q")}">
      <button type="button" class="secondary" id="vis-export">${t("vis.export")}</button>
      <span class="muted small" id="vis-export-msg"></span></form></div>
    <table class="grid" id="vis-day"><thead><tr><th>${t("vis.registered_at")}</th><th>${t("vis.name")}</th><th>${t("vis.phone")}</th>
      <th>${t("vis.unit")}</th><th>${t("vis.purpose")}</th><th>${t("pass.plate")}</th><th>${t("vis.status")}</th>
      <th>${t("vis.in_at")}</th><th>${t("vis.out_at")}</th><th></th></tr></thead><tbody></tbody></table></section>`;
}
async function visitors(box, ctx) {
  mount(box, visitorsView());
  const form = $("#vis-form", box), filter = $("#vis-filter", box);
  form.name.focus();
  suggestUnits(form, ctx);
  const acts = (v) => html`${(v.allowed_actions || []).map((a) => html`<button type="button" class="secondary small-btn"
    data-vact="${a}" data-id="${v.id}">${t("vis.act." + a)}</button>`)}`;

  async function loadOnSite() {
    const r = await api("GET", P(ctx) + "/visitors" + qs({ on_site: "true", limit: 200 }));
    if (!ctx.alive()) return;
    $("#vis-on-count", box).textContent = r.items.length ? String(r.items.length) + (r.next_cursor ? "+" : "") : "";
    mount($("#vis-on tbody", box), r.items.length ? html`${r.items.map((v) => html`<tr data-visitor="${v.id}">
      <td>${v.name}</td><td class="phone">${v.phone || "—"}</td><td>${v.visiting_unit_code || "—"}</td><td>${v.purpose}</td>
      <td>${shortDt(v.checked_in_at)} <span class="muted small">${duration(Date.now() - new Date(v.checked_in_at))}</span></td>
      <td>${acts(v)}</td></tr>`)}` : html`<tr><td colspan="6" class="empty">${t("vis.nobody")}</td></tr>`);
  }
  async function loadDay() {
    const q = filter.q.value.trim(), date = filter.date.value;
    // a search looks through every day: the visitor the desk asks about may have come yesterday
    $("#vis-day-title", box).textContent = q ? t("vis.search_all") : t("vis.day", { d: date || "—" });
    const r = await api("GET", P(ctx) + "/visitors" + qs({ q, date: q ? "" : date, limit: 200 }));
    if (!ctx.alive() || filter.q.value.trim() !== q) return;
    mount($("#vis-day tbody", box), r.items.length ? html`${r.items.map((v) => html`<tr data-visitor="${v.id}">
      <td>${shortDt(v.registered_at)}</td><td>${v.name}</td><td class="phone">${v.phone || "—"}</td><td>${v.visiting_unit_code || "—"}</td>
      <td>${v.purpose}</td><td>${v.vehicle_plate || "—"}</td><td><span class="st st-v-${v.status}">${tv("vstatus", v.status)}</span></td>
      <td>${shortDt(v.checked_in_at)}</td><td>${shortDt(v.checked_out_at)}</td><td>${acts(v)}</td></tr>`)}`
      : html`<tr><td colspan="10" class="empty">${t("vis.none")}</td></tr>`);
  }
  const reload = () => Promise.all([loadOnSite(), loadDay()]);

  onSubmit(form, async () => {
    clearErrors(form);
    const b = filled(form, ["name", "phone", "purpose", "id_number", "vehicle_plate"]);
    const uid = await unitOf(form, "visiting_unit_id", ctx);
    if (uid === null) return;
    if (uid) b.visiting_unit_id = uid;
    b.check_in = form.check_in.checked;
    try {
      const v = await api("POST", P(ctx) + "/visitors", b);
      form.reset();
      $("#vis-done", box).textContent = t(v.status === "on_site" ? "vis.done_in" : "vis.done", { name: v.name });
      form.name.focus();
      await reload();
    } catch (e) { showErrors(form, e); }
  });
  box.addEventListener("click", async (ev) => {
    const b = ev.target.closest("[data-vact]");
    if (!b || b.disabled) return;
    b.disabled = true;
    try {
      await api("POST", P(ctx) + `/visitors/${b.dataset.id}/${b.dataset.vact.replace("_", "-")}`);
      await reload();
    } catch (e) { b.disabled = false; $("#vis-done", box).textContent = errText(e); }
  });
  filter.addEventListener("submit", (ev) => { ev.preventDefault(); loadDay(); });
  filter.date.addEventListener("change", loadDay);
  filter.q.addEventListener("input", debounce(loadDay, 300));
  $("#vis-export", box).addEventListener("click", async () => {
    const date = filter.date.value, msg = $("#vis-export-msg", box);
    if (!date) { msg.textContent = t("vis.export.date"); return; }
    try {
      const { blob, name } = await download(P(ctx) + "/exports/visitors" + qs({ date }), `visitors-${date}.csv`);
      msg.textContent = `${name} · ${blob.size} B`;
    } catch (e) { msg.textContent = errText(e); }
  });
  await reload();
}

/* ---------------------------------------------------------------- items left at the desk */
// The claim slip the owner takes away: printed by the console (the API shows
// the code once, in the answer to the store).
const SLIP_CSS = `@page { size: 80mm auto; margin: 4mm; }
body { font: 13px/1.5 "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; width: 72mm; margin: 0 auto; color: #000; }
h1 { font-size: 16px; text-align: center; margin: 0 0 6px; } .prop { text-align: center; margin: 0; }
.code { font: 700 28px/1.2 "DejaVu Sans Mono", monospace; letter-spacing: .12em; text-align: center; border: 2px solid #000; padding: 6px 0; margin: 8px 0; }
dl { display: grid; grid-template-columns: 16mm 1fr; gap: 2px 6px; margin: 0; } dt { color: #444; } dd { margin: 0; }
.note { border-top: 1px dashed #000; margin-top: 8px; padding-top: 4px; font-size: 12px; }`;
export function spaced(code) { return code.length === 8 ? code.slice(0, 4) + " " + code.slice(4) : code; }
function slipPage(item, ctx) {
  const prop = ctx.property ? ctx.property.name : "";
  return html`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${t("item.slip")}</title>
    <style>${new Safe(SLIP_CSS)}</style></head><body><h1>${t("item.slip")}</h1><p class="prop">${prop}</p>
    <p class="code">${spaced(item.claim_code)}</p><dl>
    <dt>${t("item.description")}</dt><dd>${item.description}</dd>
    <dt>${t("item.unit")}</dt><dd>${item.unit_code || "—"}</dd>
    <dt>${t("item.owner")}</dt><dd>${item.owner_name || "—"}</dd>
    <dt>${t("item.location")}</dt><dd>${item.location || "—"}</dd>
    <dt>${t("item.stored_at")}</dt><dd>${dt(item.stored_at)}</dd></dl>
    <p class="note">${t("item.slip.note")}</p></body></html>`.s;
}
function waited(x) {
  return x.stored_at ? duration(Date.now() - new Date(x.stored_at)) : t("item.hours", { n: x.stored_for_hours });
}

function itemsView() {
  return html`<div class="grid2">
    <section class="panel"><h3>${t("item.store")}</h3>
      <form id="item-form" class="form" novalidate>
        <label class="stack"><span>${t("item.description")}</span><input name="description" maxlength="500" autocomplete="off"
          placeholder="${t("item.description.ph")}"></label>
        <div class="row"><label class="stack"><span>${t("item.unit")}</span>${unitInput("unit_id", "item-units")}</label>
          <label class="stack grow"><span>${t("item.owner")}</span><input name="owner_name" autocomplete="off"></label>
          <label class="stack"><span>${t("item.location")}</span><input name="location" autocomplete="off" placeholder="${t("item.location.ph")}"></label></div>
        <p class="form-error" role="alert"></p><button class="primary">${t("item.submit")}</button></form>
      <div id="item-done" aria-live="polite"></div></section>
    <section class="panel"><h3>${t("item.release")}</h3>
      <form id="rel-form" class="form" novalidate hidden>
        <p id="rel-what" class="rel-what"></p><input type="hidden" name="id">
        <div class="row"><label class="stack"><span>${t("item.claim_code")}</span><input name="claim_code" class="code-input" autocomplete="off" maxlength="9"></label>
          <label class="stack grow"><span>${t("item.released_to")}</span><input name="released_to" autocomplete="off"></label></div>
        <label class="stack" id="rel-reason" hidden><span>${t("item.reason")}</span><input name="reason" autocomplete="off"></label>
        <p class="form-error" role="alert"></p>
        <div class="row"><button class="primary">${t("item.release.submit")}</button><button type="button" class="secondary" id="rel-cancel">${t("cancel")}</button></div></form>
      <p class="ok" id="rel-done" role="status"></p>
      <p class="muted" id="rel-hint">${t("item.release.hint")}</p></section>
  </div>
  <section class="panel"><h3>${t("item.waiting")} <span class="count" id="items-count"></span></h3>
    <table class="grid" id="items-waiting"><thead><tr><th>${t("item.description")}</th><th>${t("tk.unit")}</th><th>${t("item.owner")}</th>
      <th>${t("item.location")}</th><th>${t("item.stored_at")}</th><th>${t("item.waited")}</th><th></th></tr></thead><tbody></tbody></table></section>
  <section class="panel"><h3>${t("item.released")}</h3>
    <table class="grid" id="items-released"><thead><tr><th>${t("item.description")}</th><th>${t("tk.unit")}</th>
      <th>${t("item.released_to")}</th><th>${t("item.released_at")}</th></tr></thead><tbody></tbody></table></section>`;
}
async function items(box, ctx) {
  mount(box, itemsView());
  const form = $("#item-form", box);
  form.description.focus();
  suggestUnits(form, ctx);
  let waiting = [];

  async function load() {
    const [w, r] = await Promise.all([
      api("GET", P(ctx) + "/stored-items" + qs({ status: "stored", limit: 200 })),
      api("GET", P(ctx) + "/stored-items" + qs({ status: "released", limit: 10 })),
    ]);
    if (!ctx.alive()) return;
    waiting = w.items;
    $("#items-count", box).textContent = waiting.length ? String(waiting.length) : "";
    mount($("#items-waiting tbody", box), waiting.length ? html`${waiting.map((x) => html`<tr data-item="${x.id}">
      <td>${x.description} ${x.locked ? html`<span class="st st-escalated">${t("item.locked")}</span>` : ""}</td>
      <td>${x.unit_code || "—"}</td><td>${x.owner_name || "—"}</td><td>${x.location || "—"}</td><td>${shortDt(x.stored_at)}</td>
      <td class="${x.stored_for_hours >= 72 ? "late" : ""}">${waited(x)}</td>
      <td><button type="button" class="secondary small-btn" data-release="${x.id}">${t("item.release.go")}</button></td></tr>`)}`
      : html`<tr><td colspan="7" class="empty">${t("item.none")}</td></tr>`);
    mount($("#items-released tbody", box), r.items.length ? html`${r.items.map((x) => html`<tr><td>${x.description}</td>
      <td>${x.unit_code || "—"}</td><td>${x.released_to}</td><td>${shortDt(x.released_at)}</td></tr>`)}`
      : html`<tr><td colspan="4" class="empty">${t("none")}</td></tr>`);
  }

  onSubmit(form, async () => {
    clearErrors(form);
    const b = filled(form, ["description", "owner_name", "location"]);
    const uid = await unitOf(form, "unit_id", ctx);
    if (uid === null) return;
    if (uid) b.unit_id = uid;
    try {
      const item = await api("POST", P(ctx) + "/stored-items", b);
      form.reset();
      // the code is shown this once: big, to read out, and on the slip
      mount($("#item-done", box), html`<div class="claim"><span>${t("item.claim_code")}</span>
        <b id="claim-code" class="claim-code">${spaced(item.claim_code)}</b>
        <span class="muted small">${item.description}</span>
        <button type="button" class="primary" id="print-slip">${t("item.print_slip")}</button></div>`);
      $("#print-slip", box).addEventListener("click", () => printPreview(slipPage(item, ctx), t("item.slip")));
      $("#print-slip", box).focus();
      await load();
    } catch (e) { showErrors(form, e); }
  });

  releaseForm(box, ctx, () => waiting, load);
  await load();
}

// Releasing an item: its code and who takes it; a locked item (5 wrong
// codes) is a manager's to release on a reason, without the code.
function releaseForm(box, ctx, waitingNow, load) {
  const rel = $("#rel-form", box);
  function openRelease(id) {
    const x = waitingNow().find((i) => i.id === id);
    if (!x) return;
    clearErrors(rel);
    rel.reset();
    rel.id.value = id;
    const byManager = x.locked && canManage(ctx);
    $("#rel-reason", box).hidden = !byManager;
    rel.claim_code.disabled = byManager;
    $("#rel-what", box).textContent = `${x.description}${x.owner_name ? " · " + x.owner_name : ""}${x.unit_code ? " · " + x.unit_code : ""}`;
    rel.hidden = false;
    $("#rel-hint", box).hidden = true;
    $("#rel-done", box).textContent = "";
    (byManager ? rel.released_to : rel.claim_code).focus();
  }
  box.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-release]");
    if (b) openRelease(b.dataset.release);
  });
  $("#rel-cancel", box).addEventListener("click", () => { rel.hidden = true; $("#rel-hint", box).hidden = false; });
  onSubmit(rel, async () => {
    clearErrors(rel);
    const b = filled(rel, ["released_to"]);
    if (!rel.claim_code.disabled) b.claim_code = rel.claim_code.value.trim();
    if (!$("#rel-reason", box).hidden) b.reason = rel.reason.value.trim();
    try {
      const done = await api("POST", P(ctx) + `/stored-items/${rel.id.value}/release`, b);
      rel.hidden = true;
      $("#rel-hint", box).hidden = false;
      $("#rel-done", box).textContent = t("item.release.done", { what: done.description, who: done.released_to });
      await load();
    } catch (e) {
      showErrors(rel, e);
      if (e.code === "invalid_claim_code" || e.code === "claim_locked") { rel.claim_code.select(); load(); }
    }
  });
}

/* ---------------------------------------------------------------- vehicle passes */
const PASS_STATUSES = ["active", "scheduled", "expired", "revoked"];
async function passes(box, ctx) {
  const today = ymd(new Date());
  mount(box, html`<div class="grid2">
    <section class="panel"><h3>${t("pass.check")}</h3>
      <form id="plate-form" class="form inline" novalidate>
        <label class="stack grow"><span>${t("pass.plate")}</span><input name="plate" class="plate-input" autocomplete="off" placeholder="粤B12345"></label>
        <button class="primary">${t("pass.check.submit")}</button><p class="form-error" role="alert"></p></form>
      <div id="plate-result" aria-live="polite"></div></section>
    <section class="panel"><h3>${t("pass.create")}</h3>
      <form id="pass-form" class="form" novalidate>
        <div class="row"><label class="stack"><span>${t("pass.plate")}</span><input name="plate" autocomplete="off" placeholder="粤B12345"></label>
          <label class="stack"><span>${t("pass.from")}</span><input type="date" name="valid_from" value="${today}"></label>
          <label class="stack"><span>${t("pass.to")}</span><input type="date" name="valid_to" value="${today}"></label>
          <label class="check"><input type="checkbox" name="vip"> ${t("pass.vip")}</label></div>
        <div class="row"><label class="stack"><span>${t("pass.unit")}</span>${unitInput("unit_id", "pass-units")}</label>
          <label class="stack grow"><span>${t("pass.note")}</span><input name="note" autocomplete="off"></label>
          <button class="primary">${t("pass.submit")}</button></div>
        <p class="form-error" role="alert"></p><p class="ok" id="pass-done" role="status"></p></form></section>
  </div>
  <section class="panel"><div class="row between"><h3>${t("pass.list")}</h3>
    <select id="pass-status" aria-label="${t("vis.status")}"><option value="">${t("all")}</option>
      ${PASS_STATUSES.map((s) => html`<option value="${s}" ${s === "active" ? "selected" : ""}>${tv("pstat", s)}</option>`)}</select></div>
    <table class="grid" id="pass-list"><thead><tr><th>${t("pass.plate")}</th><th></th><th>${t("tk.unit")}</th><th>${t("pass.valid")}</th>
      <th>${t("vis.status")}</th><th>${t("pass.note")}</th><th></th></tr></thead><tbody></tbody></table></section>`);
  const check = $("#plate-form", box), form = $("#pass-form", box), status = $("#pass-status", box);
  check.plate.focus();
  suggestUnits(form, ctx);

  async function load() {
    const r = await api("GET", P(ctx) + "/vehicle-passes" + qs({ status: status.value, limit: 200 }));
    if (!ctx.alive()) return;
    mount($("#pass-list tbody", box), r.items.length ? html`${r.items.map((p) => html`<tr data-pass="${p.id}">
      <td class="plate">${p.plate}</td><td>${p.vip ? html`<span class="st st-key">VIP</span>` : ""}</td><td>${p.unit_code || "—"}</td>
      <td>${shortDt(p.valid_from)} – ${shortDt(p.valid_to)}</td><td><span class="st st-p-${p.status}">${tv("pstat", p.status)}</span></td>
      <td class="ellipsis">${p.note || ""}</td>
      <td>${p.status === "active" || p.status === "scheduled" ? html`<button type="button" class="link danger" data-revoke="${p.id}" data-plate="${p.plate}">${t("pass.revoke")}</button>` : ""}</td></tr>`)}`
      : html`<tr><td colspan="7" class="empty">${t("none")}</td></tr>`);
  }
  onSubmit(check, async () => {
    clearErrors(check);
    try {
      const r = await api("GET", P(ctx) + "/vehicle-passes/check" + qs({ plate: check.plate.value.trim() }));
      const p = r.pass;
      mount($("#plate-result", box), r.allowed ? html`<div class="verdict yes" id="plate-verdict"><b>${t("pass.allowed")}</b>
          <span class="plate">${r.plate || p.plate}</span>${p.vip ? html` <span class="st st-key">VIP</span>` : ""}
          <span class="muted">${p.unit_code || ""} · ${t("pass.until", { t: dt(p.valid_to) })}</span></div>`
        : html`<div class="verdict no" id="plate-verdict"><b>${t("pass.denied")}</b> <span class="plate">${r.plate}</span></div>`);
      check.plate.select();
    } catch (e) { showErrors(check, e); }
  });
  onSubmit(form, async () => {
    clearErrors(form);
    const b = filled(form, ["plate", "valid_from", "valid_to", "note"]);
    const uid = await unitOf(form, "unit_id", ctx);
    if (uid === null) return;
    if (uid) b.unit_id = uid;
    b.vip = form.vip.checked;
    try {
      const p = await api("POST", P(ctx) + "/vehicle-passes", b);
      form.reset();
      form.valid_from.value = form.valid_to.value = today;
      $("#pass-done", box).textContent = t("pass.done", { plate: p.plate, s: tv("pstat", p.status) });
      await load();
    } catch (e) { showErrors(form, e); }
  });
  status.addEventListener("change", load);
  box.addEventListener("click", async (ev) => {
    const b = ev.target.closest("[data-revoke]");
    if (!b || !confirm(t("pass.revoke.confirm", { plate: b.dataset.plate }))) return;
    try { await api("POST", P(ctx) + `/vehicle-passes/${b.dataset.revoke}/revoke`); await load(); }
    catch (e) { $("#pass-done", box).textContent = errText(e); }
  });
  await load();
}
