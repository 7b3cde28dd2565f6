// deposits: a unit's deposits (押金, e.g. 装修押金) on its account panel.
// A deposit is billed as a bill of kind deposit (paid like any bill, with the
// payment form above) and held until a manager refunds it, in whole or less
// deductions with a reason. The API lists no deposits: the unit's bills of
// kind deposit name theirs (source_ref), each read with GET .../deposits/{id}.
import { t } from "./i18n.js";
import { api, qs, html, mount, onSubmit, $, showErrors, clearErrors, fieldError, errText, money, dt, toFen } from "./lib.js";

const P = (ctx) => `/v1/properties/${ctx.pid}`;
const canManage = (ctx) => ctx.me.role === "admin" || ctx.me.role === "manager";

// The placeholder on the account panel; deposits() fills it.
export function depositsPanel() {
  return html`<h3>${t("dep.title")}</h3><div id="unit-deposits"><p class="muted">${t("loading")}</p></div>`;
}

async function unitDeposits(ctx, unitId) {
  const ids = [];
  let cursor = "";
  do {
    const r = await api("GET", P(ctx) + "/bills" + qs({ unit_id: unitId, limit: 500, cursor }));
    for (const b of r.items) if (b.kind === "deposit" && b.source === "deposit" && b.source_ref) ids.push(b.source_ref);
    cursor = r.next_cursor;
  } while (cursor && ids.length < 100);
  const all = await Promise.all(ids.map((id) => api("GET", P(ctx) + "/deposits/" + id).catch(() => null)));
  return all.filter(Boolean).sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
}

// box: the placeholder; tickets: the unit's tickets (a deposit may belong to a
// renovation's); reload: the unit page again (the deposit's bill is on the account).
export async function deposits(box, ctx, unitId, tickets, reload) {
  const reno = tickets.filter((x) => x.type === "renovation");
  const numbers = new Map(tickets.map((x) => [x.id, x.number]));
  let list;
  try { list = await unitDeposits(ctx, unitId); }
  catch (e) { if (ctx.alive()) mount(box, html`<p class="muted">${errText(e)}</p>`); return; }
  if (!ctx.alive()) return;
  const mgr = canManage(ctx);
  const state = (d) => (d.status === "refunded" ? "refunded" : d.bill_status === "paid" ? "held" : "unpaid");
  mount(box, html`<table class="grid" id="deposits"><thead><tr><th>${t("dep.created")}</th><th class="num">${t("u.amount")}</th>
      <th class="num">${t("dep.paid")}</th><th>${t("dep.ticket")}</th><th>${t("u.bstatus")}</th><th></th></tr></thead>
    <tbody>${list.length ? list.map((d) => html`<tr data-deposit="${d.id}"><td>${dt(d.created_at)}</td><td class="num">${money(d.amount)}</td>
      <td class="num">${money(d.paid)}</td><td>${d.ticket_id ? (numbers.get(d.ticket_id) ? html`<a href="#/tickets/${d.ticket_id}" class="number">${numbers.get(d.ticket_id)}</a>` : d.ticket_id.slice(0, 8)) : "—"}</td>
      <td><span class="st st-dep-${state(d)}">${t("dep.state." + state(d))}</span>
        ${d.refund ? html`<div class="muted small">${t("dep.refunded", { m: money(d.refund.amount), x: money(d.refund.deducted) })}${d.refund.reason ? " · " + d.refund.reason : ""}</div>` : ""}</td>
      <td>${mgr && state(d) === "held" ? html`<button type="button" class="secondary small-btn" data-refund="${d.id}" data-amount="${d.amount}">${t("dep.refund")}</button>` : ""}</td></tr>`)
      : html`<tr><td colspan="6" class="empty">${t("dep.none")}</td></tr>`}</tbody></table>
    <form id="dep-refund-form" class="form inline moveout" novalidate hidden>
      <input type="hidden" name="id"><p class="grow" id="dep-refund-what"></p>
      <label class="stack"><span>${t("dep.refund.amount")}</span><input name="amount" inputmode="decimal" autocomplete="off"></label>
      <label class="stack grow"><span>${t("dep.refund.reason")}</span><input name="reason" maxlength="500" autocomplete="off" placeholder="${t("dep.refund.reason.ph")}"></label>
      <button class="primary">${t("dep.refund.submit")}</button><button type="button" class="secondary" id="dep-refund-cancel">${t("cancel")}</button>
      <p class="form-error" role="alert"></p></form>
    <form id="dep-form" class="form inline" novalidate>
      <label class="stack"><span>${t("dep.amount")}</span><input name="amount" inputmode="decimal" autocomplete="off" placeholder="3000.00"></label>
      <label class="stack grow"><span>${t("dep.ticket")}</span><select name="ticket_id"><option value="">${t("dep.ticket.none")}</option>
        ${reno.map((x) => html`<option value="${x.id}">${x.number} ${x.title}</option>`)}</select></label>
      <button class="secondary">${t("dep.submit")}</button><p class="form-error" role="alert"></p></form>
    <p class="ok" id="dep-done" role="status"></p>`);

  const df = $("#dep-form", box), rf = $("#dep-refund-form", box);
  onSubmit(df, async () => {
    clearErrors(df);
    const fen = toFen(df.amount.value);
    if (fen === null || fen <= 0) return fieldError(df, "amount", "money");
    const b = { unit_id: unitId, amount: fen };
    if (df.ticket_id.value) b.ticket_id = df.ticket_id.value;
    try {
      await api("POST", P(ctx) + "/deposits", b);
      await reload();
    } catch (e) { showErrors(df, e); }
  });
  box.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-refund]");
    if (b) {
      clearErrors(rf);
      rf.id.value = b.dataset.refund;
      rf.amount.value = (Number(b.dataset.amount) / 100).toFixed(2);
      rf.reason.value = "";
      $("#dep-refund-what", box).textContent = t("dep.refund.what", { m: money(Number(b.dataset.amount)) });
      rf.hidden = false;
      rf.amount.focus();
    }
    if (ev.target.closest("#dep-refund-cancel")) rf.hidden = true;
  });
  onSubmit(rf, async () => {
    clearErrors(rf);
    const fen = toFen(rf.amount.value);
    if (fen === null) return fieldError(rf, "amount", "money");
    const b = { amount: fen };
    if (rf.reason.value.trim()) b.reason = rf.reason.value.trim();
    try {
      await api("POST", P(ctx) + `/deposits/${rf.id.value}/refund`, b);
      await reload();
    } catch (e) { showErrors(rf, e); }
  });
}
