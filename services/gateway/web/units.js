// units: units and people (房屋与业户): search, the unit page with its
// occupants (move-in, move-out), its account (open bills, balance, credit),
// recording a payment, and its tickets; the party page with its units.
import { t, tv } from "./i18n.js";
import { api, qs, html, mount, onSubmit, $, showErrors, clearErrors, fieldError, money, dt, ymd, toFen } from "./lib.js";
import { slaCell } from "./desk.js";

const P = (ctx) => `/v1/properties/${ctx.pid}`;
const METHODS = ["cash", "wechat", "alipay", "bank_transfer", "card", "external"];
function debounce(fn, ms) { let h = 0; return (...a) => { clearTimeout(h); h = setTimeout(() => fn(...a), ms); }; }

export async function search(el, ctx) {
  mount(el, html`<h1 class="title">${t("u.title")}</h1>
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
  const [u, acc, pays, tks] = await Promise.all([
    api("GET", base),
    api("GET", base + "/account").catch(() => null),
    // the payments list came after the rest of billing: no list, no section
    api("GET", P(ctx) + "/payments" + qs({ unit_id: ctx.id, limit: 8 }), undefined, { noRetry: true }).catch(() => null),
    api("GET", P(ctx) + "/tickets" + qs({ unit_id: ctx.id, limit: 10 })).catch(() => ({ items: [] })),
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
        <details class="more"><summary>${t("u.movein")}</summary>
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
        ${pays ? html`<h3>${t("u.payments")}</h3><table class="grid" id="payments"><thead><tr><th>${t("u.paid_at")}</th><th class="num">${t("u.amount")}</th>
          <th>${t("u.pay.method")}</th><th>${t("u.ref")}</th><th>${t("u.bstatus")}</th></tr></thead>
          <tbody>${pays.items.length ? pays.items.map((p) => html`<tr><td>${dt(p.paid_at)}</td><td class="num">${money(p.amount)}</td><td>${tv("method", p.method)}</td>
            <td>${p.external_ref || "—"}</td><td>${tv("pstatus", p.status)}</td></tr>`) : html`<tr><td colspan="5" class="empty">${t("none")}</td></tr>`}</tbody></table>` : ""}
      </section>` : ""}
      ${(u.history || []).length ? html`<section class="panel"><h3>${t("u.history")}</h3><table class="grid"><tbody>${u.history.map((h) => html`<tr>
        <td><a href="#/parties/${h.party_id}">${h.party_name || h.party_id.slice(0, 8)}</a></td><td>${tv("occ", h.role)}</td><td>${h.start_date} – ${h.end_date}</td></tr>`)}</tbody></table></section>` : ""}
    </div>
  </div>`);
  const reload = () => unit(el, ctx);

  el.querySelectorAll("[data-moveout]").forEach((b) => b.addEventListener("click", async () => {
    if (!confirm(t("u.moveout.confirm", { name: b.dataset.name }))) return;
    try { await api("POST", P(ctx) + `/occupancies/${b.dataset.moveout}/end`, { end_date: ymd(new Date()) }); reload(); }
    catch (e) { alert(e.message); }
  }));

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
      await api("POST", base + "/occupancies", { party_id: mi.party_id.value, role: mi.role.value, start_date: mi.start_date.value });
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

export async function party(el, ctx) {
  const p = await api("GET", P(ctx) + "/parties/" + ctx.id);
  if (!ctx.alive()) return;
  mount(el, html`<h1 class="title"><a href="#/units" class="link">${t("u.title")}</a> › ${p.name}
    ${p.key_customer ? html`<span class="st st-key">★ ${p.key_customer_note || ""}</span>` : ""}</h1>
    <section class="panel"><dl class="kv">
      <dt>${t("u.kind")}</dt><dd>${tv("kindp", p.kind)}</dd>
      <dt>${t("u.phone")}</dt><dd class="phone">${(p.phones || []).join(" / ") || "—"}</dd>
      <dt>Email</dt><dd>${p.email || "—"}</dd>
      ${p.id_number ? html`<dt>ID</dt><dd>${p.id_number}</dd>` : ""}
    </dl></section>
    <section class="panel"><h3>${t("u.units")}</h3><table class="grid"><tbody>${(p.units || []).length ? p.units.map((x) => html`<tr>
      <td><a href="#/units/${x.unit_id}">${x.unit_code}</a></td><td>${tv("occ", x.role)}</td><td>${x.start_date} – ${x.end_date || ""}</td></tr>`)
      : html`<tr><td class="empty">${t("u.no_units")}</td></tr>`}</tbody></table></section>`);
}
