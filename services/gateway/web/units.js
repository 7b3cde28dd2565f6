// units: units and people (房屋与业户): search, the unit page with its
// occupants (move-in, move-out), its account (open bills, balance, credit),
// recording a payment, and its tickets; the party page with its units.
import { t, tv, getLang } from "./i18n.js";
import { api, qs, html, mount, onSubmit, $, showErrors, clearErrors, fieldError, errText, money, dt, ymd, toFen,
  fetchText, printPreview, filesPanel } from "./lib.js";
import { slaCell, staff, who } from "./desk.js";
import { parking } from "./parking.js";
import { imports } from "./imports.js";
import { depositsPanel, deposits } from "./deposits.js";

const P = (ctx) => `/v1/properties/${ctx.pid}`;
const METHODS = ["cash", "wechat", "alipay", "bank_transfer", "card", "external"];
const CHANNELS = ["phone", "visit", "wechat", "email", "letter", "other"];
const canManage = (ctx) => ctx.me.role === "admin" || ctx.me.role === "manager";
const LAYOUTS = ["a5", "thermal"];
function debounce(fn, ms) { let h = 0; return (...a) => { clearTimeout(h); h = setTimeout(() => fn(...a), ms); }; }

// The screen's tabs: the search, parking (车位), and the CSV imports (批量导入) for managers.
const uTabs = (ctx) => ["search", "parking"].concat(canManage(ctx) ? ["import"] : []);
function tabsNav(ctx, tab) {
  return html`<nav class="tabs" role="tablist">${uTabs(ctx).map((k) => html`<a href="#/units${k === "search" ? "" : "?tab=" + k}" role="tab"
    id="utab-${k}" aria-selected="${k === tab ? "true" : "false"}" class="${k === tab ? "active" : ""}">${t("u.tab." + k)}</a>`)}</nav>`;
}
export async function search(el, ctx) {
  const tab = uTabs(ctx).includes(ctx.params.tab) ? ctx.params.tab : "search";
  if (tab !== "search") {
    mount(el, html`<h1 class="title">${t("u.title")}</h1>${tabsNav(ctx, tab)}<div id="u-tab"></div>`);
    return (tab === "parking" ? parking : imports)($("#u-tab", el), ctx);
  }
  mount(el, html`<h1 class="title">${t("u.title")}</h1>${tabsNav(ctx, tab)}
    <form class="filters" id="u-form" role="search"><input name="q" data-search autofocus autocomplete="off" value="${ctx.params.q || ""}"
      placeholder="${t("u.search.ph")}" aria-label="${t("u.search.ph")}"><button class="secondary">${t("search")}</button></form>
    <div class="grid2"><section class="panel"><h3>${t("u.units")}</h3><table class="grid"><thead><tr><th>${t("u.code")}</th><th>${t("u.building")}</th>
      <th>${t("u.floor")}</th><th>${t("u.area")}</th><th>${t("u.use")}</th></tr></thead><tbody id="u-units"></tbody></table></section>
    <section class="panel"><h3>${t("u.parties")}</h3><table class="grid"><thead><tr><th>${t("u.name")}</th><th>${t("u.kind")}</th><th>${t("u.phone")}</th></tr></thead>
      <tbody id="u-parties"></tbody></table></section></div>`);
  const form = $("#u-form", el);
  form.q.focus();
  async function load() {
    const q = form.q.value.trim();
    history.replaceState(null, "", "#/units" + qs({ q }));
    const [us, ps] = await Promise.all([
      api("GET", P(ctx) + "/units" + qs({ q, limit: 30 })),
      api("GET", P(ctx) + "/parties" + qs({ q, limit: 30 })),
    ]);
    if (!ctx.alive()) return;
    mount($("#u-units", el), us.items.length ? html`${us.items.map((u) => html`<tr><td><a href="#/units/${u.id}">${u.code}</a></td>
      <td>${u.building || ""}</td><td>${u.floor || ""}</td><td class="num">${u.area_m2}</td><td>${tv("use", u.use)}</td></tr>`)}`
      : html`<tr><td colspan="5" class="empty">${t("u.noresult")}</td></tr>`);
    mount($("#u-parties", el), ps.items.length ? html`${ps.items.map((p) => html`<tr><td><a href="#/parties/${p.id}">${p.name}</a>
      ${p.key_customer ? html`<span class="st st-key">★</span>` : ""}</td><td>${tv("kindp", p.kind)}</td><td class="phone">${p.phone || "—"}</td></tr>`)}`
      : html`<tr><td colspan="3" class="empty">${t("u.noresult")}</td></tr>`);
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  form.q.addEventListener("input", debounce(load, 300));
  await load();
}

export async function unit(el, ctx) {
  const base = P(ctx) + "/units/" + ctx.id;
  const [u, acc, pays, tks, mis] = await Promise.all([
    api("GET", base),
    api("GET", base + "/account").catch(() => null),
    // the payments list came after the rest of billing: no list, no section
    api("GET", P(ctx) + "/payments" + qs({ unit_id: ctx.id, limit: 8 }), undefined, { noRetry: true }).catch(() => null),
    api("GET", P(ctx) + "/tickets" + qs({ unit_id: ctx.id, limit: 10 })).catch(() => ({ items: [] })),
    api("GET", P(ctx) + "/move-ins" + qs({ unit_id: ctx.id, status: "open" }), undefined, { noRetry: true }).catch(() => ({ items: [] })),
  ]);
  if (!ctx.alive()) return;
  const occ = u.occupants || [];
  mount(el, html`
  <h1 class="title"><a href="#/units" class="link">${t("u.title")}</a> › <span id="unit-code">${u.code}</span>
    <span class="muted small">${u.building || ""} ${u.floor || ""} · ${tv("use", u.use)} · ${u.area_m2} m²</span></h1>
  <div class="ticket">
    <div class="col">
      <section class="panel"><h3>${t("u.occupants")}</h3>
        <table class="grid"><thead><tr><th>${t("u.name")}</th><th>${t("u.role")}</th><th>${t("u.phone")}</th><th>${t("u.since")}</th><th></th></tr></thead>
        <tbody>${occ.length ? occ.map((o) => html`<tr><td><a href="#/parties/${o.party_id}">${o.name}</a></td><td>${tv("occ", o.role)}</td>
          <td class="phone">${o.phone || "—"}</td><td>${o.start_date}</td>
          <td>${ctx.me.role === "technician" ? "" : html`<button type="button" class="link" data-moveout="${o.occupancy_id}" data-name="${o.name}">${t("u.moveout")}</button>`}</td></tr>`)
          : html`<tr><td colspan="5" class="empty">${t("none")}</td></tr>`}</tbody></table>
        ${moveOutForm(ctx)}
        ${mis.items.map((m) => checklistForm(m))}
        <details class="more" ${mis.items.length ? "" : "open"}><summary>${t("u.movein")}</summary>
          <form id="mi-form" class="form inline" novalidate>
            <label class="stack grow"><span>${t("u.movein.party")}</span><input name="party_q" autocomplete="off" list="mi-list"></label>
            <datalist id="mi-list"></datalist><input type="hidden" name="party_id">
            <label class="stack"><span>${t("u.role")}</span><select name="role">${["owner", "tenant", "resident"].map((r) => html`<option value="${r}">${tv("occ", r)}</option>`)}</select></label>
            <label class="stack"><span>${t("u.movein.date")}</span><input type="date" name="start_date" value="${ymd(new Date())}"></label>
            <button class="primary">${t("u.movein")}</button><p class="form-error" role="alert"></p></form></details>
      </section>
      <section class="panel"><h3>${t("u.tickets")}</h3>
        <table class="grid"><tbody>${tks.items.length ? tks.items.map((x) => html`<tr><td><a href="#/tickets/${x.id}" class="number">${x.number}</a></td>
          <td class="ellipsis">${x.title}</td><td><span class="st st-${x.status}">${tv("status", x.status)}</span></td><td>${slaCell(x)}</td></tr>`)
          : html`<tr><td class="empty">${t("none")}</td></tr>`}</tbody></table>
      </section>
    </div>
    <div class="col">
      ${acc ? html`<section class="panel" id="account"><h3>${t("u.account")}</h3>
        <div class="stats">
          <div class="stat"><span>${t("u.balance")}</span><b id="acc-balance">${money(acc.balance_due)}</b></div>
          <div class="stat ${acc.overdue_amount > 0 ? "bad" : ""}"><span>${t("u.overdue")}</span><b>${money(acc.overdue_amount)}</b></div>
          <div class="stat"><span>${t("u.credit")}</span><b id="acc-credit">${money(acc.credit)}</b></div>
        </div>
        <table class="grid"><thead><tr><th>${t("u.period")}</th><th>${t("u.kind")}</th><th>${t("u.due")}</th><th class="num">${t("u.amount")}</th>
          <th class="num">${t("u.open")}</th><th>${t("u.bstatus")}</th></tr></thead>
        <tbody>${acc.bills.length ? acc.bills.map((b) => html`<tr><td>${b.period || "—"}</td><td>${tv("kind", b.kind)}</td><td>${b.due_date}</td>
          <td class="num">${money(b.amount)}</td><td class="num">${money(b.balance)}</td><td>${tv("bill", b.status)}</td></tr>`)
          : html`<tr><td colspan="6" class="empty">${t("u.bills.none")}</td></tr>`}</tbody></table>
        <h3>${t("u.pay")}</h3>
        <form id="pay-form" class="form inline" novalidate>
          <label class="stack"><span>${t("u.pay.amount")}</span><input name="amount" inputmode="decimal" autocomplete="off"
            value="${acc.balance_due > 0 ? (acc.balance_due / 100).toFixed(2) : ""}"></label>
          <label class="stack"><span>${t("u.pay.method")}</span><select name="method">${METHODS.map((m) => html`<option value="${m}">${tv("method", m)}</option>`)}</select></label>
          <label class="stack grow"><span>${t("u.pay.ref")}</span><input name="external_ref" autocomplete="off"></label>
          <button class="primary">${t("u.pay.submit")}</button>
          <p class="form-error" role="alert"></p></form>
        <p id="pay-done" class="ok" role="status"></p>
        ${pays ? html`<div class="row between"><h3>${t("u.payments")}</h3><label class="check">${t("rcpt.layout")}
            <select id="receipt-layout">${LAYOUTS.map((l) => html`<option value="${l}" ${l === receiptLayout() ? "selected" : ""}>${t("rcpt.layout." + l)}</option>`)}</select></label></div>
          <table class="grid" id="payments"><thead><tr><th>${t("u.paid_at")}</th><th class="num">${t("u.amount")}</th>
          <th>${t("u.pay.method")}</th><th>${t("u.ref")}</th><th>${t("u.receipt")}</th><th>${t("u.bstatus")}</th><th></th></tr></thead>
          <tbody>${pays.items.length ? pays.items.map((p) => html`<tr data-payment="${p.id}"><td>${dt(p.paid_at)}</td><td class="num">${money(p.amount)}</td><td>${tv("method", p.method)}</td>
            <td>${p.external_ref || "—"}</td><td class="number">${p.receipt_number || "—"}${p.status === "reversed" ? html` <span class="st st-void">${t("rcpt.void")}</span>` : ""}</td>
            <td>${tv("pstatus", p.status)}</td>
            <td>${p.receipt_number ? html`<button type="button" class="link" data-receipt="${p.id}" data-number="${p.receipt_number}">${t("rcpt.print")}</button>` : ""}</td></tr>`)
            : html`<tr><td colspan="7" class="empty">${t("none")}</td></tr>`}</tbody></table>` : ""}
        ${depositsPanel()}
      </section>` : ""}
      ${(u.history || []).length ? html`<section class="panel"><h3>${t("u.history")}</h3><table class="grid"><tbody>${u.history.map((h) => html`<tr>
        <td><a href="#/parties/${h.party_id}">${h.party_name || h.party_id.slice(0, 8)}</a></td><td>${tv("occ", h.role)}</td><td>${h.start_date} – ${h.end_date}</td></tr>`)}</tbody></table></section>` : ""}
      <section class="panel"><h3>${t("f.unit")}</h3><div id="unit-files"></div></section>
    </div>
  </div>`);
  const reload = () => unit(el, ctx);
  filesPanel($("#unit-files", el), base, { alive: ctx.alive });
  moveOut(el, ctx, reload);
  el.querySelectorAll("form[data-movein]").forEach((f) => checklist(f, ctx, mis.items.find((m) => m.id === f.dataset.movein), reload));
  printReceipts(el, ctx);
  if (acc) deposits($("#unit-deposits", el), ctx, u.id, tks.items, reload);


  const mi = $("#mi-form", el);
  let found = [];
  mi.party_q.addEventListener("input", debounce(async () => {
    const q = mi.party_q.value.trim();
    const hit = found.find((p) => `${p.name} ${p.phone || ""}`.trim() === q);
    mi.party_id.value = hit ? hit.id : "";
    if (hit || q.length < 1) return;
    const r = await api("GET", P(ctx) + "/parties" + qs({ q, limit: 10 })).catch(() => ({ items: [] }));
    found = r.items;
    mount($("#mi-list", el), html`${found.map((p) => html`<option value="${`${p.name} ${p.phone || ""}`.trim()}"></option>`)}`);
  }, 250));
  onSubmit(mi, async (ev) => {
    ev.preventDefault();
    const q = mi.party_q.value.trim();
    const hit = found.find((p) => `${p.name} ${p.phone || ""}`.trim() === q);
    if (hit) mi.party_id.value = hit.id;
    if (!mi.party_id.value) return fieldError(mi, "party_q", "no such party");
    try {
      await api("POST", base + "/move-ins", { party_id: mi.party_id.value, role: mi.role.value, start_date: mi.start_date.value });
      reload();
    } catch (e) { showErrors(mi, e); }
  });

  const pf = $("#pay-form", el);
  if (pf) onSubmit(pf, async (ev) => {
    ev.preventDefault();
    clearErrors(pf);
    const fen = toFen(pf.amount.value);
    if (fen === null || fen <= 0) return fieldError(pf, "amount", "money");
    const b = { unit_id: u.id, amount: fen, method: pf.method.value };
    if (pf.external_ref.value.trim()) b.external_ref = pf.external_ref.value.trim();
    try {
      const p = await api("POST", P(ctx) + "/payments", b);
      await reload();
      const done = $("#pay-done", el);
      if (done) done.textContent = t("u.pay.done", { m: money(p.amount), n: (p.allocations || []).length, c: money(p.credit) });
    } catch (e) { showErrors(pf, e); }
  });
}

/* ---------------------------------------------------------------- receipts */
function receiptLayout() {
  const l = localStorage.getItem("pm_receipt_layout");
  return LAYOUTS.includes(l) ? l : "a5";
}
// 打印收据: the receipt's page is fetched with the token (never a URL with it)
// in the layout the desk's printer takes, remembered in this browser.
function printReceipts(el, ctx) {
  el.addEventListener("change", (ev) => { if (ev.target.id === "receipt-layout") localStorage.setItem("pm_receipt_layout", ev.target.value); });
  el.addEventListener("click", async (ev) => {
    const b = ev.target.closest("[data-receipt]");
    if (!b) return;
    try {
      const page = await fetchText(P(ctx) + `/payments/${b.dataset.receipt}/receipt` + qs({ layout: receiptLayout() }));
      await printPreview(page, t("rcpt.title", { n: b.dataset.number }));
    } catch (e) { $("#pay-done", el).textContent = errText(e); }
  });
}

/* ---------------------------------------------------------------- move-out clearance */
// Move-out asks for the date; the tenants service refuses it while the unit
// owes (409 arrears_outstanding, the amount in fen), and then a manager may
// let it go with a reason that stays on the occupancy's record.
function moveOutForm(ctx) {
  if (ctx.me.role === "technician") return "";
  return html`<form id="mo-form" class="form inline moveout" novalidate hidden>
    <input type="hidden" name="oid"><p class="grow mo-who" id="mo-who"></p>
    <label class="stack"><span>${t("u.moveout.date")}</span><input type="date" name="end_date" value="${ymd(new Date())}"></label>
    <p class="arrears" id="mo-arrears" role="alert" hidden></p>
    <label class="stack grow" id="mo-override" hidden><span>${t("u.moveout.override")}</span><input name="override_reason" maxlength="500" autocomplete="off"></label>
    <button class="primary">${t("u.moveout.submit")}</button><button type="button" class="secondary" data-mo-cancel>${t("cancel")}</button>
    <p class="form-error" role="alert"></p></form>`;
}
function moveOut(el, ctx, reload) {
  const f = $("#mo-form", el);
  if (!f) return;
  const arrears = $("#mo-arrears", f), override = $("#mo-override", f);
  el.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-moveout]");
    if (b) {
      clearErrors(f);
      f.oid.value = b.dataset.moveout;
      f.override_reason.value = "";
      arrears.hidden = override.hidden = true;
      $("#mo-who", f).textContent = t("u.moveout.who", { name: b.dataset.name });
      f.hidden = false;
      f.end_date.focus();
    }
    if (ev.target.closest("[data-mo-cancel]")) f.hidden = true;
  });
  onSubmit(f, async () => {
    clearErrors(f);
    const b = { end_date: f.end_date.value };
    if (!override.hidden) {
      b.override_reason = f.override_reason.value.trim();
      if (!b.override_reason) return fieldError(f, "override_reason", "is required");
    }
    try { await api("POST", P(ctx) + `/occupancies/${f.oid.value}/end`, b); reload(); }
    catch (e) {
      if (e.code !== "arrears_outstanding") return showErrors(f, e);
      const d = e.details.find((x) => x.field === "balance_due"), fen = d && /^(\d+) fen$/.exec(d.problem || "");
      arrears.textContent = t(canManage(ctx) ? "u.moveout.arrears_mgr" : "u.moveout.arrears", { m: fen ? money(Number(fen[1])) : "—" });
      arrears.hidden = false;
      if (canManage(ctx)) { override.hidden = false; f.override_reason.focus(); }
    }
  });
}

/* ---------------------------------------------------------------- move-in checklist */
// An open move-in (入伙办理) is its checklist: tick what was done, with the
// count of keys, a meter's reading or a document's number where the item takes
// one; complete starts the occupancy once every required item is done.
function itemLabel(it) {
  const l = it.label || {};
  return (getLang() === "en" && l.en) || l.zh || it.item;
}
function checklistForm(m) {
  const done = m.checklist.filter((i) => i.done).length;
  return html`<form class="form checklist" data-movein="${m.id}" novalidate>
    <h4>${t("u.mi.title", { name: m.party_name, role: tv("occ", m.role), date: m.start_date })}
      <span class="muted small mi-progress">${t("u.mi.progress", { d: done, n: m.checklist.length })}</span></h4>
    <table class="grid"><tbody>${m.checklist.map((it) => html`<tr data-item="${it.item}">
      <td><label class="check"><input type="checkbox" name="${it.item}.done" ${it.done ? "checked" : ""}> ${itemLabel(it)}${it.required ? html`<span class="req" title="${t("u.mi.required")}">*</span>` : ""}</label></td>
      <td>${it.value_kind && it.value_kind !== "none" ? html`<input name="${it.item}.value" value="${it.value || ""}" size="14" autocomplete="off"
        placeholder="${t("u.mi." + it.value_kind)}" inputmode="${it.value_kind === "text" ? "text" : "decimal"}">` : ""}</td>
      <td><input name="${it.item}.note" value="${it.note || ""}" maxlength="500" autocomplete="off" placeholder="${t("u.mi.note")}"></td></tr>`)}</tbody></table>
    <p class="form-error" role="alert"></p>
    <div class="row"><button class="primary">${t("u.mi.complete")}</button>
      <button type="button" class="secondary" data-mi-save>${t("save")}</button>
      <button type="button" class="link danger" data-mi-cancel>${t("u.mi.cancel")}</button></div></form>`;
}
// What changed on the form since the move-in was read: the PATCH's entries.
function changes(form, m) {
  const out = [];
  for (const it of m.checklist) {
    const el = (k) => form.elements[`${it.item}.${k}`];
    const done = el("done").checked, value = el("value") ? el("value").value.trim() : "", note = el("note").value.trim();
    if (done === it.done && value === (it.value || "") && note === (it.note || "")) continue;
    const e = { item: it.item, done };
    if (el("value") && value !== (it.value || "")) e.value = value || null;
    if (note !== (it.note || "")) e.note = note || null;
    out.push(e);
  }
  return out;
}
// The API names an entry of the PATCH by its place (checklist[2].value) and a
// missing item by its key (checklist.meter_water): both to the item's inputs.
function toInputs(e, sent) {
  for (const d of e.details) {
    const at = /^checklist\[(\d+)\]\.(\w+)$/.exec(d.field || ""), key = /^checklist\.(\w+)$/.exec(d.field || "");
    if (at && sent[Number(at[1])]) d.field = `${sent[Number(at[1])].item}.${at[2] === "item" ? "done" : at[2]}`;
    else if (key) d.field = `${key[1]}.done`;
  }
}
function checklist(form, ctx, m, reload) {
  const path = P(ctx) + "/move-ins/" + m.id;
  // a value typed in is the item done: the desk need not tick it as well;
  // an item touched loses the marks of the last refusal
  form.addEventListener("input", (ev) => {
    const n = ev.target.name || "", row = ev.target.closest("tr[data-item]");
    if (n.endsWith(".value") && ev.target.value.trim()) form.elements[n.replace(/\.value$/, ".done")].checked = true;
    const done = Array.from(form.querySelectorAll("input[type=checkbox]")).filter((x) => x.checked).length;
    $(".mi-progress", form).textContent = t("u.mi.progress", { d: done, n: m.checklist.length });
    if (!row) return;
    row.classList.remove("missing");
    row.querySelectorAll(".field-error").forEach((x) => x.remove());
    row.querySelectorAll(".invalid").forEach((x) => { x.classList.remove("invalid"); x.removeAttribute("aria-invalid"); });
  });
  async function save() {
    const sent = changes(form, m);
    if (!sent.length) return true;
    try { m = await api("PATCH", path, { checklist: sent }); return true; }
    catch (e) { toInputs(e, sent); showErrors(form, e); return false; }
  }
  onSubmit(form, async () => {
    clearErrors(form);
    if (!(await save())) return;
    try { await api("POST", path + "/complete"); reload(); }
    catch (e) {
      toInputs(e, []);
      showErrors(form, e);
      if (e.code === "checklist_incomplete") {
        const missing = m.checklist.filter((it) => e.details.some((d) => d.field === `${it.item}.done`));
        $(".form-error", form).textContent = t("u.mi.missing", { items: missing.map(itemLabel).join("、") });
        missing.forEach((it) => form.querySelector(`tr[data-item="${it.item}"]`).classList.add("missing"));
      }
    }
  });
  form.addEventListener("click", async (ev) => {
    if (ev.target.closest("[data-mi-save]")) { clearErrors(form); if (await save()) reload(); }
    if (ev.target.closest("[data-mi-cancel]")) {
      const reason = prompt(t("u.mi.cancel.reason"));
      if (reason === null) return;
      try { await api("POST", path + "/cancel", reason.trim() ? { reason: reason.trim() } : undefined); reload(); }
      catch (e) { showErrors(form, e); }
    }
  });
}

export async function party(el, ctx) {
  const [p, people] = await Promise.all([api("GET", P(ctx) + "/parties/" + ctx.id), staff(ctx)]);
  if (!ctx.alive()) return;
  const base = P(ctx) + "/parties/" + ctx.id;
  mount(el, html`<h1 class="title"><a href="#/units" class="link">${t("u.title")}</a> › ${p.name}
    ${p.key_customer ? html`<span class="st st-key">★ ${p.key_customer_note || ""}</span>` : ""}</h1>
  <div class="ticket"><div class="col">
    <section class="panel"><dl class="kv">
      <dt>${t("u.kind")}</dt><dd>${tv("kindp", p.kind)}</dd>
      <dt>${t("u.phone")}</dt><dd class="phone">${(p.phones || []).join(" / ") || "—"}</dd>
      <dt>Email</dt><dd>${p.email || "—"}</dd>
      ${p.id_number ? html`<dt>ID</dt><dd>${p.id_number}</dd>` : ""}
    </dl></section>
    <section class="panel"><h3>${t("u.units")}</h3><table class="grid"><tbody>${(p.units || []).length ? p.units.map((x) => html`<tr>
      <td><a href="#/units/${x.unit_id}">${x.unit_code}</a></td><td>${tv("occ", x.role)}</td><td>${x.start_date} – ${x.end_date || ""}</td></tr>`)
      : html`<tr><td class="empty">${t("u.no_units")}</td></tr>`}</tbody></table></section>
    <section class="panel"><h3>${t("f.docs")}</h3><div id="party-files"></div></section>
  </div><div class="col">
    <section class="panel"><h3>${t("c.title")}</h3>
      <form id="contact-form" class="form" novalidate>
        <div class="row"><label class="stack"><span>${t("c.channel")}</span><select name="channel">${CHANNELS.map((c) => html`<option value="${c}">${tv("cch", c)}</option>`)}</select></label>
          <label class="stack"><span>${t("c.at")}</span><input type="datetime-local" name="at"></label></div>
        <label class="stack"><span>${t("c.summary")}</span><textarea name="summary" rows="3" maxlength="2000" placeholder="${t("c.summary.ph")}"></textarea></label>
        <p class="form-error" role="alert"></p><button class="primary">${t("c.add")}</button></form>
      <ol class="timeline" id="contacts"></ol></section>
  </div></div>`);
  // a party's documents (ID copies, contracts) are read by the roles that see personal data whole
  filesPanel($("#party-files", el), base, { canList: canManage(ctx), alive: ctx.alive });
  async function loadContacts() {
    const r = await api("GET", base + "/contacts" + qs({ limit: 50 })).catch(() => null);
    if (!ctx.alive()) return;
    mount($("#contacts", el), !r ? html`<li class="muted">${t("err.unknown")}</li>` : r.items.length ? html`${r.items.map((c) => html`<li>
      <span class="when">${dt(c.at)}</span><span class="what">${tv("cch", c.channel)}</span><span class="by muted">${who(c.by, people, ctx.me)}</span>
      <div class="note">${c.summary}</div></li>`)}` : html`<li class="muted">${t("c.none")}</li>`);
  }
  const cf = $("#contact-form", el);
  onSubmit(cf, async () => {
    clearErrors(cf);
    const b = { channel: cf.channel.value, summary: cf.summary.value.trim() };
    if (cf.at.value) b.at = new Date(cf.at.value).toISOString().replace(/\.\d{3}Z$/, "Z");
    try { await api("POST", base + "/contacts", b); cf.reset(); await loadContacts(); }
    catch (e) { showErrors(cf, e); }
  });
  await loadContacts();
}
