// desk: the screens of the service desk: take a call (接听来电), the ticket
// queue with live SLA countdowns, and the ticket page (details, timeline,
// comments, the actions the workflow allows now, the follow-up call).
import { t, tv } from "./i18n.js";
import { api, qs, html, mount, onSubmit, $, $$, showErrors, clearErrors, fieldError, errText, dt, shortDt, duration, toFen, money,
  fetchText, printPreview, filesPanel } from "./lib.js";
import { allowedActions, needsNote, takesAssignee, takesFee, FINAL, OPEN } from "./workflow.js";

export const TYPES = ["repair", "complaint", "inquiry", "suggestion", "renovation", "item_release", "move_in", "move_out", "parking", "other"];
export const STATUSES = ["new", "accepted", "assigned", "in_progress", "on_hold", "resolved", "closed", "cancelled", "approved", "rejected", "released", "refused"];
const PRIORITIES = ["low", "normal", "high", "urgent"];
const CHANNELS = ["phone", "walk_in", "app", "wechat", "email", "hotline", "patrol"];
// who asks: a resident, or a department of the company (the internal service hotline, 内部服务热线)
const REQUESTER_KINDS = ["resident", "internal"];
const CATEGORIES = ["hvac", "plumbing", "electrical", "elevator", "cleaning", "security", "noise", "parking", "other"];

function debounce(fn, ms) {
  let h = 0;
  return (...a) => { clearTimeout(h); h = setTimeout(() => fn(...a), ms); };
}
const P = (ctx) => `/v1/properties/${ctx.pid}`;

/* ---------------------------------------------------------------- SLA countdown */
// One ticker for the whole page: every element with data-due shows the time
// left (green), within the warning window (amber), or past (red).
export function slaCell(tk) {
  const s = tk.sla || {};
  if (FINAL.includes(tk.status) || tk.status === "resolved" || tk.resolved_at) {
    const missed = s.resolve_breached || s.breached;
    return html`<span class="sla ${missed ? "red" : "done"}">${missed ? t("tk.sla.missed") : t("tk.sla.met")}</span>`;
  }
  if (s.on_hold) return html`<span class="sla paused">${t("tk.sla.paused")}</span>`;
  const respond = !tk.responded_at && s.respond_by;
  const due = respond ? s.respond_by : s.resolve_by;
  if (!due) return html`<span class="sla">—</span>`;
  return html`<span class="sla" data-due="${due}" data-warn="${s.warn_minutes || 30}"
    data-kind="${respond ? "respond" : "resolve"}"></span>`;
}
export function countdown(due, warn, kind) {
  return due ? html`<span class="sla" data-due="${due}" data-warn="${warn || 30}" data-kind="${kind}"></span>` : "";
}
export function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll(".sla[data-due]")) {
    const left = new Date(el.dataset.due).getTime() - now;
    const warn = Number(el.dataset.warn) * 60000;
    const cls = left < 0 ? "red" : left <= warn ? "amber" : "green";
    if (!el.classList.contains(cls)) { el.classList.remove("red", "amber", "green"); el.classList.add(cls); }
    const label = t("tk.sla." + el.dataset.kind) + " " + (left < 0 ? t("tk.sla.over", { d: duration(left) }) : t("tk.sla.left", { d: duration(left) }));
    if (el.textContent !== label) el.textContent = label;
  }
}
setInterval(tick, 1000);

function statusBadge(s) { return html`<span class="st st-${s}">${tv("status", s)}</span>`; }
function prioBadge(p) { return html`<span class="pr pr-${p}">${tv("priority", p)}</span>`; }

/* ---------------------------------------------------------------- take a call */
const FILLER = /请问|你好|您好|怎么办|怎么|如何|为什么|能不能|有没有|可不可以|可以|是否|一下|我们|我的|我|的|了|吗|呢|吧|啊/g;
export function faqQueries(text) {
  const parts = text.split(/[，。,.!?！？；;:：\s、]+/).map((x) => x.trim()).filter((x) => x.length >= 2);
  const out = new Set();
  if (text.length <= 24) out.add(text.slice(0, 100));
  for (const p of parts.slice(-3)) {
    out.add(p.slice(0, 100));
    const bare = p.replace(FILLER, "");
    if (bare.length >= 2) out.add(bare.slice(0, 100));
  }
  return Array.from(out).slice(0, 6);
}
export async function call(el, ctx) {
  const st = { unit: null, party: null, occupants: [], units: [], faq: [] };
  mount(el, html`
  <h1 class="title">${t("call.title")}</h1>
  <div class="call">
    <section class="panel caller" aria-label="${t("call.caller")}">
      <label class="stack"><span>${t("call.search")}</span>
        <input id="call-q" data-search autocomplete="off" placeholder="${t("call.search.ph")}" autofocus></label>
      <div id="call-results" class="results" role="listbox"></div>
      <div id="call-picked" class="picked"><p class="muted">${t("call.nocaller")}</p></div>
    </section>
    <div class="panel" id="call-main">
      <form id="call-form" class="form" novalidate>
        <fieldset class="chips" id="f-type"><legend>${t("call.type")}</legend>
          ${TYPES.map((x) => html`<label class="chip"><input type="radio" name="type" value="${x}" ${x === "repair" ? "checked" : ""}><span>${tv("type", x)}</span></label>`)}
        </fieldset>
        <div class="row">
          <fieldset class="chips"><legend>${t("call.priority")}</legend>
            ${PRIORITIES.map((x) => html`<label class="chip pr-${x}"><input type="radio" name="priority" value="${x}" ${x === "normal" ? "checked" : ""}><span>${tv("priority", x)}</span></label>`)}
          </fieldset>
          <label class="stack"><span>${t("call.category")}</span><select name="category">
            <option value=""></option>${CATEGORIES.map((c) => html`<option value="${c}">${tv("cat", c)}</option>`)}</select></label>
          <label class="stack"><span>${t("call.channel")}</span><select name="channel">
            ${CHANNELS.map((c) => html`<option value="${c}">${tv("channel", c)}</option>`)}</select></label>
          <fieldset class="chips" id="f-requester"><legend>${t("hl.kind")}</legend>
            ${REQUESTER_KINDS.map((x) => html`<label class="chip"><input type="radio" name="requester_kind" value="${x}" ${x === "resident" ? "checked" : ""}><span>${t("hl.kind." + x)}</span></label>`)}
          </fieldset>
          <label class="stack" id="f-department" hidden><span>${t("hl.department")}</span><input name="department" maxlength="64" autocomplete="off" placeholder="${t("hl.department.ph")}"></label>
        </div>
        <label class="stack"><span>${t("call.title_f")}</span><input name="title" maxlength="500" placeholder="${t("call.title.ph")}"></label>
        <label class="stack"><span>${t("call.desc")}</span><textarea name="description" rows="4" placeholder="${t("call.desc.ph")}"></textarea></label>
        <div id="type-extra" class="row"></div>
        <div class="faq" id="call-faq" aria-live="polite"><p class="muted">${t("call.faq.none")}</p></div>
        <p class="form-error" role="alert"></p>
        <div class="row"><button type="submit" class="primary big">${t("call.submit")} <kbd>Ctrl+Enter</kbd></button></div>
      </form>
    </div>
  </div>`);
  const q = $("#call-q", el), results = $("#call-results", el), form = $("#call-form", el);
  q.focus(); // autofocus works once per document; every new call starts here

  const search = debounce(async () => {
    const v = q.value.trim();
    if (!v) { mount(results, ""); return; }
    const [us, ps] = await Promise.all([
      api("GET", P(ctx) + "/units" + qs({ q: v, limit: 6 })).catch(() => ({ items: [] })),
      api("GET", P(ctx) + "/parties" + qs({ q: v, limit: 6 })).catch(() => ({ items: [] })),
    ]);
    if (!ctx.alive() || q.value.trim() !== v) return;
    const rows = [];
    for (const u of us.items) rows.push(html`<button type="button" class="result" data-unit="${u.id}"><b>${u.code}</b> <span class="muted">${u.building || ""} ${u.floor || ""} · ${tv("use", u.use)}</span></button>`);
    for (const p of ps.items) rows.push(html`<button type="button" class="result" data-party="${p.id}"><b>${p.name}</b> <span class="muted">${p.phone || ""} · ${tv("kindp", p.kind)}</span></button>`);
    mount(results, rows.length ? html`${rows}` : html`<p class="muted">${t("call.noresult")}</p>`);
  }, 200);
  q.addEventListener("input", search);
  q.addEventListener("keydown", (ev) => {
    const first = $(".result", results);
    if (ev.key === "ArrowDown" && first) { ev.preventDefault(); first.focus(); }
    if (ev.key === "Enter" && first) { ev.preventDefault(); first.click(); }
  });
  results.addEventListener("keydown", (ev) => {
    const all = $$(".result", results), i = all.indexOf(document.activeElement);
    if (ev.key === "ArrowDown" && i >= 0 && i < all.length - 1) { ev.preventDefault(); all[i + 1].focus(); }
    if (ev.key === "ArrowUp") { ev.preventDefault(); (i > 0 ? all[i - 1] : q).focus(); }
  });
  results.addEventListener("click", async (ev) => {
    const b = ev.target.closest(".result");
    if (!b) return;
    try { await pick(b); } catch (e) { mount(results, html`<p class="form-error">${errText(e)}</p>`); return; }
    if (!ctx.alive()) return;
    mount(results, "");
    showPicked();
    form.description.focus();
  });
  async function pick(b) {
    if (b.dataset.unit) {
      const u = await api("GET", P(ctx) + "/units/" + b.dataset.unit);
      st.unit = u; st.occupants = u.occupants || []; st.party = st.occupants[0] || null; st.units = [];
      if (st.party) st.party = { id: st.party.party_id, name: st.party.name, phone: st.party.phone, role: st.party.role };
    } else {
      const p = await api("GET", P(ctx) + "/parties/" + b.dataset.party);
      st.party = { id: p.id, name: p.name, phone: p.phone };
      st.units = (p.units || []).filter((x) => !x.end_date);
      st.occupants = [];
      st.unit = st.units.length ? { id: st.units[0].unit_id, code: st.units[0].unit_code } : null;
    }
  }
  async function showPicked() {
    const box = $("#call-picked", el);
    const occ = st.occupants.length > 1 ? html`<div class="chips small">${st.occupants.map((o) => html`
      <label class="chip"><input type="radio" name="caller" value="${o.party_id}" ${st.party && st.party.id === o.party_id ? "checked" : ""}>
      <span>${o.name} · ${tv("occ", o.role)}</span></label>`)}</div>` : "";
    const uns = st.units.length > 1 ? html`<div class="chips small">${st.units.map((u) => html`
      <label class="chip"><input type="radio" name="cunit" value="${u.unit_id}" data-code="${u.unit_code}" ${st.unit && st.unit.id === u.unit_id ? "checked" : ""}>
      <span>${u.unit_code} · ${tv("occ", u.role)}</span></label>`)}</div>` : "";
    mount(box, html`<div class="card">
      <div class="row between"><h3>${st.unit ? st.unit.code : "—"} ${st.party ? html`<span class="who-name">${st.party.name}</span>` : ""}</h3>
        <button type="button" class="link" id="call-clear">${t("call.change")}</button></div>
      ${st.party ? html`<p class="muted">${st.party.phone || ""} ${st.party.role ? "· " + tv("occ", st.party.role) : ""}</p>` : ""}
      ${st.unit && st.unit.use ? html`<p class="muted">${st.unit.building || ""} ${st.unit.floor || ""} · ${tv("use", st.unit.use)} · ${st.unit.area_m2} m²</p>` : ""}
      ${occ}${uns}
      <div id="call-open"></div></div>`);
    $("#call-clear", box).addEventListener("click", () => {
      st.unit = null; st.party = null; st.occupants = []; st.units = [];
      mount(box, html`<p class="muted">${t("call.nocaller")}</p>`); q.value = ""; q.focus();
    });
    box.addEventListener("change", (ev) => {
      if (ev.target.name === "caller") { const o = st.occupants.find((x) => x.party_id === ev.target.value); st.party = { id: o.party_id, name: o.name, phone: o.phone, role: o.role }; }
      if (ev.target.name === "cunit") st.unit = { id: ev.target.value, code: ev.target.dataset.code };
    });
    if (st.unit) {
      const open = await api("GET", P(ctx) + "/tickets" + qs({ unit_id: st.unit.id, limit: 5 })).catch(() => ({ items: [] }));
      const items = open.items.filter((x) => !FINAL.includes(x.status) && x.status !== "resolved");
      if (ctx.alive() && items.length) mount($("#call-open", box), html`<h4>${t("call.open_tickets")}</h4><ul class="mini">${items.map((x) => html`
        <li><a href="#/tickets/${x.id}">${x.number}</a> ${x.title} ${statusBadge(x.status)}</li>`)}</ul>`);
    }
  }

  const faqSearch = debounce(async () => {
    const v = form.description.value.trim() || form.title.value.trim();
    const box = $("#call-faq", el);
    if (v.length < 2) { mount(box, html`<p class="muted">${t("call.faq.none")}</p>`); st.faq = []; return; }
    // The FAQ search scores how much of the query a question holds, so a whole
    // sentence finds little: ask with its last clauses, with and without filler words.
    const rs = await Promise.all(faqQueries(v).map((x) => api("GET", P(ctx) + "/faq" + qs({ q: x, limit: 3 })).catch(() => ({ items: [] }))));
    if (!ctx.alive()) return;
    const best = new Map();
    for (const r of rs) for (const f of r.items || []) if (!best.has(f.id) || best.get(f.id).score < f.score) best.set(f.id, f);
    st.faq = Array.from(best.values()).sort((a, b) => (b.score || 0) - (a.score || 0)).slice(0, 3);
    mount(box, st.faq.length ? html`<h4>${t("call.faq")}</h4>${st.faq.map((f) => html`
      <div class="faq-item"><div><b>${f.question}</b><p>${f.answer}</p></div>
      <button type="button" class="secondary" data-faq="${f.id}">${t("call.faq.use")}</button></div>`)}`
      : html`<p class="muted">${t("call.faq.none")}</p>`);
  }, 300);
  // What some types need besides the words (the API's data: its fields are named
  // data.x, so its errors land next to them).
  const extra = $("#type-extra", el);
  form.addEventListener("change", (ev) => {
    if (ev.target.name !== "requester_kind") return;
    const internal = ev.target.value === "internal";
    $("#f-department", el).hidden = !internal;
    q.disabled = internal; // an internal request is no resident's: no unit, no party
    if (internal) { form.channel.value = "hotline"; form.department.focus(); }
  });
  form.addEventListener("change", (ev) => {
    if (ev.target.name !== "type") return;
    const ty = ev.target.value;
    mount(extra, ty === "item_release" ? html`
      <label class="stack grow"><span>${t("call.items")}</span><textarea name="data.items" rows="2"></textarea></label>
      <label class="stack"><span>${t("call.carrier")}</span><input name="data.carrier"></label>`
      : ty === "renovation" ? html`
      <label class="stack grow"><span>${t("call.contractor")}</span><input name="data.contractor"></label>
      <label class="stack"><span>${t("call.start")}</span><input type="date" name="data.start_date"></label>
      <label class="stack"><span>${t("call.end")}</span><input type="date" name="data.end_date"></label>
      <label class="stack"><span>${t("call.deposit")}</span><input name="data.deposit" inputmode="decimal" size="8"></label>
      <label class="stack"><span>${t("call.mgmt_fee")}</span><input name="data.management_fee" inputmode="decimal" size="8"></label>` : "");
  });
  form.description.addEventListener("input", faqSearch);
  // an empty title is taken from the description: typing one answers "title is empty"
  form.description.addEventListener("input", () => { if (form.title.classList.contains("invalid")) clearErrors(form); });
  form.title.addEventListener("input", faqSearch);

  function body() {
    const fd = new FormData(form);
    const desc = (fd.get("description") || "").trim();
    let title = (fd.get("title") || "").trim();
    if (!title && desc) title = desc.split(/[。！？!?\n]/)[0].slice(0, 60);
    const b = { type: fd.get("type"), priority: fd.get("priority"), channel: fd.get("channel"), title };
    if (desc) b.description = desc;
    if (fd.get("category")) b.category = fd.get("category");
    if (fd.get("requester_kind") === "internal") {
      b.requester_kind = "internal";
      const dep = (fd.get("department") || "").trim();
      if (dep) b.department = dep;
    } else {
      if (st.unit) b.unit_id = st.unit.id;
      if (st.party) b.party_id = st.party.id;
    }
    const data = {};
    for (const [k, v] of fd.entries()) {
      if (!k.startsWith("data.") || !String(v).trim()) continue;
      const key = k.slice(5), val = String(v).trim();
      if (key === "items") data.items = val.split("\n").map((x) => x.trim()).filter(Boolean);
      else if (key === "deposit" || key === "management_fee") data[key] = toFen(val) === null ? val : toFen(val);
      else data[key] = val;
    }
    if (Object.keys(data).length) b.data = data;
    return b;
  }
  async function create(b, answered) {
    clearErrors(form);
    try {
      const tk = await api("POST", P(ctx) + "/tickets", b);
      if (!ctx.alive()) return;
      done(tk, answered);
    } catch (e) { showErrors(form, e); }
  }
  onSubmit(form, () => create(body(), false));
  $("#call-faq", el).addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-faq]");
    if (!b) return;
    const f = st.faq.find((x) => x.id === b.dataset.faq);
    if (!f || b.disabled) return;
    b.disabled = true; // one answer per click
    const base = body();
    create(Object.assign(base, { type: "inquiry", title: base.title || f.question, resolve_now: true, answer: f.answer, faq_id: f.id }), true);
  });

  function done(tk, answered) {
    mount($("#call-main", el), html`<div class="done" role="status">
      <h2>${answered ? t("call.answered") : t("call.created")}</h2>
      <dl class="kv big">
        <dt>${t("call.number")}</dt><dd id="created-number" class="number">${tk.number}</dd>
        <dt>${t("tk.type")}</dt><dd>${tv("type", tk.type)} · ${prioBadge(tk.priority)} · ${statusBadge(tk.status)}</dd>
        ${answered ? "" : html`<dt>${t("call.respond_by")}</dt><dd>${dt(tk.sla.respond_by)} ${countdown(tk.sla.respond_by, tk.sla.warn_minutes, "respond")}</dd>
        <dt>${t("call.resolve_by")}</dt><dd>${dt(tk.sla.resolve_by)} ${countdown(tk.sla.resolve_by, tk.sla.warn_minutes, "resolve")}</dd>`}
      </dl>
      <div class="row"><button type="button" class="primary" id="call-next">${t("call.next")} <kbd>F2</kbd></button>
        <a class="button" href="#/tickets/${tk.id}">${t("call.view")}</a></div></div>`);
    tick();
    $("#call-next", el).addEventListener("click", () => ctx.rerender());
    $("#call-next", el).focus();
  }
}

/* ---------------------------------------------------------------- staff */
// The property's staff directory (GET .../staff, open to every staff role), so
// that an assignee or an actor shows as a name, not an id; kept a few minutes
// per property. Without it (an older gateway) ids show as their first 8 characters.
const STAFF_TTL_MS = 5 * 60000;
const staffCache = new Map();
export async function staff(ctx) {
  const hit = staffCache.get(ctx.pid);
  if (hit && Date.now() - hit.at < STAFF_TTL_MS) return hit.list;
  const r = await api("GET", P(ctx) + "/staff").catch(() => null);
  if (!r || !Array.isArray(r.items)) return hit ? hit.list : [];
  const list = r.items.map((u) => ({ id: u.id, username: u.username, role: u.role }));
  staffCache.set(ctx.pid, { at: Date.now(), list });
  return list;
}
export function who(id, list, me) {
  if (!id) return "—";
  if (id === me.id) return me.username || me.name || id.slice(0, 8);
  const u = list.find((x) => x.id === id);
  return u ? u.username : id.slice(0, 8);
}
// What the SLA clock wrote on a ticket (an English note) in the user's words,
// from the entry's data; anything else keeps its note.
function systemNote(e, people, me) {
  const d = e.data || {};
  if ((e.action === "sla_warning" || e.action === "sla_breached") && (d.deadline === "respond" || d.deadline === "resolve"))
    return t(`tk.sys.${e.action === "sla_warning" ? "warn" : "breach"}.${d.deadline}`, { t: dt(d.due_at) });
  if (e.action === "escalate" && d.auto) {
    const to = d.escalated_to === "managers" ? t("tk.sys.managers") : d.escalated_to ? who(d.escalated_to, people, me) : "";
    return to ? t("tk.sys.escalate_to", { who: to }) : t("tk.sys.escalate");
  }
  return e.note;
}
// People to pick, by role (the technicians first: they take most of the work).
const PICK_ROLES = ["technician", "manager", "agent", "admin"];
function staffOptions(list, selected) {
  return PICK_ROLES.map((r) => {
    const us = list.filter((u) => u.role === r);
    return us.length ? html`<optgroup label="${tv("role", r)}">${us.map((u) => html`
      <option value="${u.id}" ${u.id === selected ? "selected" : ""}>${u.username}</option>`)}</optgroup>` : "";
  });
}

/* ---------------------------------------------------------------- queue */
export async function queue(el, ctx) {
  const p = ctx.params;
  const people = await staff(ctx);
  if (!ctx.alive()) return;
  const tech = ctx.me.role === "technician";
  mount(el, html`
  <div class="row between"><h1 class="title">${p.view === "callbacks" ? t("tk.f.callbacks") : t("tk.queue")}</h1>
    <button type="button" class="secondary" id="q-refresh">${t("refresh")}</button></div>
  <form id="q-form" class="filters" role="search">
    <input name="q" data-search placeholder="${t("tk.f.q")}" value="${p.q || ""}" aria-label="${t("tk.f.q")}">
    <select name="status" aria-label="${t("tk.f.status")}"><option value="">${t("tk.f.status")}: ${t("all")}</option>
      <option value="open" ${p.status === "open" ? "selected" : ""}>${t("tk.f.open")}</option>
      ${STATUSES.map((s) => html`<option value="${s}" ${p.status === s ? "selected" : ""}>${tv("status", s)}</option>`)}</select>
    <select name="type" aria-label="${t("tk.f.type")}"><option value="">${t("tk.f.type")}: ${t("all")}</option>
      ${TYPES.map((s) => html`<option value="${s}" ${p.type === s ? "selected" : ""}>${tv("type", s)}</option>`)}</select>
    ${tech ? "" : html`<select name="assignee_id" aria-label="${t("tk.f.assignee")}"><option value="">${t("tk.f.assignee")}: ${t("all")}</option>
      <option value="${ctx.me.id}" ${p.assignee_id === ctx.me.id ? "selected" : ""}>${t("tk.f.mine")}</option>
      ${staffOptions(people.filter((u) => u.id !== ctx.me.id), p.assignee_id)}</select>`}
    <label class="check"><input type="checkbox" name="overdue" value="true" ${p.overdue ? "checked" : ""}> ${t("tk.f.overdue")}</label>
    <label class="check"><input type="checkbox" name="soon" value="1" ${p.soon ? "checked" : ""}> ${t("tk.f.soon")}</label>
    <label class="check"><input type="checkbox" name="today" value="1" ${p.today ? "checked" : ""}> ${t("tk.f.today")}</label>
    ${tech ? "" : html`<label class="check"><input type="checkbox" name="requester_kind" value="internal" ${p.requester_kind === "internal" ? "checked" : ""}> ${t("hl.filter")}</label>`}
    ${tech ? "" : html`<label class="check"><input type="checkbox" name="view" value="callbacks" ${p.view === "callbacks" ? "checked" : ""}> ${t("tk.f.callbacks")}</label>`}
  </form>
  <table class="grid" id="q-table"><thead><tr>
    <th>${t("tk.number")}</th><th>${t("tk.type")}</th><th>${t("tk.title")}</th><th>${t("tk.unit")}</th>
    <th>${t("tk.priority")}</th><th>${t("tk.status")}</th><th>${t("tk.assignee")}</th><th>${t("tk.sla")}</th><th>${t("tk.created")}</th>
  </tr></thead><tbody></tbody></table>
  <div class="row"><button type="button" class="secondary" id="q-more" hidden>${t("tk.next")}</button></div>`);
  const form = $("#q-form", el), tbody = $("tbody", el), more = $("#q-more", el);
  let cursor = null;

  function filters() {
    const fd = new FormData(form), f = {};
    for (const [k, v] of fd.entries()) if (v) f[k] = v;
    return f;
  }
  let seq = 0;
  async function load(append) {
    if (!ctx.alive()) return;
    const my = ++seq;
    const f = filters();
    history.replaceState(null, "", "#/tickets" + qs(f));
    const params = { q: f.q, status: f.status, type: f.type, assignee_id: f.assignee_id, overdue: f.overdue, requester_kind: f.requester_kind, limit: f.soon || f.today ? 200 : 50, cursor: append ? cursor : undefined };
    const path = f.view === "callbacks" ? "/tickets/callbacks" + qs({ limit: 50, cursor: params.cursor }) : "/tickets" + qs(params);
    let r;
    if (f.status === "open" && f.view !== "callbacks") {
      // every open status at once: one list each, merged newest first
      const rs = await Promise.all(OPEN.map((st) => api("GET", P(ctx) + "/tickets" + qs(Object.assign({}, params, { status: st, limit: 200, cursor: undefined })))));
      r = { items: rs.flatMap((x) => x.items).sort((a, b) => (a.created_at < b.created_at ? 1 : -1)), next_cursor: null };
    } else {
      r = await api("GET", P(ctx) + path);
    }
    if (!ctx.alive() || my !== seq) return; // a newer filter answered or will
    let items = r.items;
    const now = Date.now();
    if (f.today) { const d0 = new Date(); d0.setHours(0, 0, 0, 0); items = items.filter((x) => new Date(x.created_at) >= d0); }
    if (f.soon) items = items.filter((x) => isSoon(x, now));
    cursor = r.next_cursor;
    more.hidden = !cursor || f.soon || f.today;
    const rows = items.map((x) => html`<tr data-id="${x.id}" tabindex="0">
      <td><a href="#/tickets/${x.id}" class="number">${x.number}</a></td><td>${tv("type", x.type)}</td>
      <td class="ellipsis" title="${x.title}">${x.title}</td>
      <td>${x.unit_code || (x.requester_kind === "internal" ? html`<span class="st st-key">${t("hl.internal")}</span> ${x.department || ""}` : "—")}</td><td>${prioBadge(x.priority)}</td>
      <td>${statusBadge(x.status)}</td><td>${who(x.assignee_id, people, ctx.me)}</td><td>${slaCell(x)}</td><td>${shortDt(x.created_at)}</td></tr>`);
    if (append) tbody.insertAdjacentHTML("beforeend", html`${rows}`.s);
    else mount(tbody, rows.length ? html`${rows}` : html`<tr><td colspan="9" class="empty">${t("tk.empty")}</td></tr>`);
    tick();
  }
  form.addEventListener("change", (ev) => { if (ev.target.name !== "q") { appended = false; load(false); } });
  form.q.addEventListener("input", debounce(() => load(false), 300));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(false); });
  let appended = false;
  more.addEventListener("click", () => { appended = true; load(true); });
  // New tickets show up on their own; not while the agent moves through the rows or pages on.
  const every = setInterval(() => {
    if (!ctx.alive()) return clearInterval(every);
    if (!appended && !tbody.contains(document.activeElement) && !document.hidden) load(false);
  }, 30000);
  $("#q-refresh", el).addEventListener("click", () => load(false));
  tbody.addEventListener("keydown", (ev) => {
    const tr = ev.target.closest("tr[data-id]");
    if (!tr) return;
    if (ev.key === "Enter") ctx.go("#/tickets/" + tr.dataset.id);
    if (ev.key === "ArrowDown" && tr.nextElementSibling) { ev.preventDefault(); tr.nextElementSibling.focus(); }
    if (ev.key === "ArrowUp" && tr.previousElementSibling) { ev.preventDefault(); tr.previousElementSibling.focus(); }
  });
  tbody.addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-id]");
    if (tr && !ev.target.closest("a")) ctx.go("#/tickets/" + tr.dataset.id);
  });
  await load(false);
}
export function isSoon(x, now) {
  if (FINAL.includes(x.status) || x.status === "resolved" || !x.sla || x.sla.on_hold) return false;
  const due = new Date(!x.responded_at && x.sla.respond_by ? x.sla.respond_by : x.sla.resolve_by).getTime();
  const warn = (x.sla.warn_minutes || 30) * 60000;
  return due > now && due - now <= warn;
}

/* ---------------------------------------------------------------- ticket page */
// The release pass (放行条) is printable while the release is approved and not
// yet used; the desk roles print it.
function canPrintPass(tk, ctx) {
  return tk.type === "item_release" && tk.status === "approved" && ctx.me.role !== "technician";
}
// An item release waiting for approval: the desk records the word of the
// unit's owner or tenant of record (approved_by_party_id), how it was given,
// and a note; a refusal the same, the who and how in its note. A manager may
// approve on their own authority.
const HOW = ["phone", "in_person", "wechat", "written"];
function takesApproval(tk, a) { return tk.type === "item_release" && tk.status === "new" && (a === "approve" || a === "refuse"); }
async function partiesOfRecord(ctx, tk) {
  if (!tk.unit_id) return [];
  const u = await api("GET", P(ctx) + "/units/" + tk.unit_id).catch(() => ({ occupants: [] }));
  return (u.occupants || []).filter((o) => o.role === "owner" || o.role === "tenant");
}
function approvalFields(ctx, tk, a, parties) {
  const mgr = ctx.me.role === "admin" || ctx.me.role === "manager";
  const d = tk.data || {}, items = Array.isArray(d.items) ? d.items.join("、") : "";
  return html`<fieldset class="approval" id="ir-approval"><legend>${t(a === "approve" ? "ir.approve" : "ir.refuse")}</legend>
    ${items ? html`<p id="ir-what">${t("ir.what", { items, carrier: d.carrier || "—" })}</p>` : ""}
    <label class="stack"><span>${t("ir.by")}</span><select name="approved_by_party_id">
      ${mgr ? html`<option value="">${t("ir.by.me")}</option>` : ""}
      ${parties.map((p) => html`<option value="${p.party_id}" data-name="${p.name}">${p.name} · ${tv("occ", p.role)}</option>`)}</select></label>
    <label class="stack"><span>${t("ir.how")}</span><select name="how">${HOW.map((h) => html`<option value="${h}">${t("ir.how." + h)}</option>`)}</select></label>
    ${!parties.length ? html`<p class="muted small">${t(mgr ? "ir.none.mgr" : "ir.none")}</p>` : ""}</fieldset>`;
}
export async function ticket(el, ctx) {
  const [tk, people] = await Promise.all([api("GET", P(ctx) + "/tickets/" + ctx.id), staff(ctx)]);
  if (!ctx.alive()) return;
  // exactly what the tickets service says this caller may do now
  const acts = allowedActions(tk);
  // a resolved or closed ticket is kept as a typical case (典型案例) by a manager
  const canCase = (ctx.me.role === "admin" || ctx.me.role === "manager") && (tk.status === "resolved" || tk.status === "closed");
  const canFeedback = ["admin", "manager", "agent"].includes(ctx.me.role) && (tk.status === "resolved" || tk.status === "closed") && !tk.feedback && !tk.has_feedback;
  const s = tk.sla || {};
  mount(el, html`
  <div class="row between"><h1 class="title"><a href="#/tickets" class="link">${t("tk.queue")}</a> › <span class="number" id="tk-number">${tk.number}</span>
    ${statusBadge(tk.status)} ${prioBadge(tk.priority)} ${tk.escalated_at ? html`<span class="st st-escalated">${t("tk.escalated")}</span>` : ""}</h1>
    <div class="muted tk-sla">${t("tk.sla")} ${slaCell(tk)}</div></div>
  <div class="ticket">
    <div class="col">
      <section class="panel">
        <h2>${tk.title}</h2>
        <dl class="kv">
          <dt>${t("tk.type")}</dt><dd>${tv("type", tk.type)}${tk.category ? " · " + tv("cat", tk.category) : ""}</dd>
          <dt>${t("tk.unit")}</dt><dd>${tk.unit_id ? html`<a href="#/units/${tk.unit_id}">${tk.unit_code || tk.unit_id}</a>` : "—"}</dd>
          <dt>${t("tk.party")}</dt><dd id="tk-party">${tk.party_id ? "…" : "—"}</dd>
          <dt>${t("tk.channel")}</dt><dd>${tv("channel", tk.channel)}</dd>
          ${tk.requester_kind === "internal" ? html`<dt>${t("hl.kind")}</dt><dd id="tk-requester">${t("hl.kind.internal")}${tk.department ? " · " + tk.department : ""}</dd>` : ""}
          <dt>${t("tk.assignee")}</dt><dd>${who(tk.assignee_id, people, ctx.me)}</dd>
          <dt>${t("tk.created")}</dt><dd>${dt(tk.created_at)}</dd>
          <dt>${t("tk.respond_by")}</dt><dd>${dt(s.respond_by)} ${tk.responded_at ? html`<span class="sla ${s.respond_breached ? "red" : "done"}">${s.respond_breached ? t("tk.sla.missed") : t("tk.sla.met")}</span>` : ""}</dd>
          <dt>${t("tk.resolve_by")}</dt><dd>${dt(s.resolve_by)}</dd>
          ${tk.fee ? html`<dt>${t("tk.fee")}</dt><dd>${t("tk.fee." + (tk.fee.status || "approved"), { m: money(tk.fee.amount) })}</dd>` : ""}
        </dl>
        ${tk.description && tk.description !== tk.title ? html`<p class="desc">${tk.description}</p>` : ""}
        ${canPrintPass(tk, ctx) ? html`<div class="row"><button type="button" class="primary" id="print-pass">${t("tk.print_pass")}</button>
          <span class="form-error" id="pass-msg"></span></div>` : ""}
      </section>
      <section class="panel" id="tk-actions" aria-label="${t("tk.actions")}">
        <h3>${t("tk.actions")}</h3>
        ${acts.length ? html`<div class="row wrap">${acts.map((a) => html`<button type="button" class="act act-${a}" data-action="${a}">${tv("action", a)}</button>`)}</div>
          <form id="act-form" class="form inline" hidden novalidate></form>`
          : html`<p class="muted" id="tk-no-actions">${FINAL.includes(tk.status) ? t("tk.actions.none") : t("tk.actions.none_now")}</p>`}
      </section>
      ${canFeedback ? html`<section class="panel"><h3>${t("tk.feedback")}</h3>
        <form id="fb-form" class="form" novalidate>
          <fieldset class="chips stars" name="rating"><legend>${t("tk.rating")}</legend>
            ${[5, 4, 3, 2, 1].map((n) => html`<label class="chip"><input type="radio" name="rating" value="${n}" ${n === 5 ? "checked" : ""}><span>${"★".repeat(n)}</span></label>`)}</fieldset>
          <label class="stack"><span>${t("tk.feedback.comment")}</span><textarea name="comment" rows="2"></textarea></label>
          <p class="form-error" role="alert"></p>
          <button type="submit" class="primary">${t("tk.feedback.submit")}</button></form></section>` : ""}
      ${canCase ? html`<section class="panel" id="case-panel"><details class="more"><summary>${t("q.case.make")}</summary>
        <form id="case-form" class="form" novalidate>
          <label class="stack"><span>${t("q.case.summary")}</span><input name="summary" maxlength="2000" autocomplete="off" value="${tk.title}"></label>
          <label class="stack"><span>${t("q.case.lesson")}</span><textarea name="lesson" rows="3"></textarea></label>
          <label class="stack"><span>${t("q.case.tags")}</span><input name="tags" autocomplete="off" placeholder="${t("q.case.tags.ph")}"></label>
          <p class="form-error" role="alert"></p><button class="primary" id="case-make">${t("q.case.make.submit")}</button></form></details>
        <p class="ok" id="case-made" role="status"></p></section>` : ""}
      <section class="panel"><h3>${t("f.title")}</h3><div id="tk-files"></div></section>
      ${tk.feedback ? html`<section class="panel"><h3>${t("tk.feedback")}</h3><p id="tk-feedback">${t("tk.feedback.done", { r: tk.feedback.rating })} ${"★".repeat(tk.feedback.rating)}</p>
        ${tk.feedback.comment ? html`<p>${tk.feedback.comment}</p>` : ""}</section>` : ""}
    </div>
    <div class="col">
      <section class="panel"><h3>${t("tk.timeline")}</h3>
        <ol class="timeline">${(tk.timeline || []).map((e) => html`<li class="${e.internal ? "internal" : ""} tl-${e.action}">
          <span class="when">${dt(e.at)}</span>
          <span class="what">${tv("action", e.action)}${e.to_status && e.to_status !== e.from_status ? html` → ${tv("status", e.to_status)}` : ""}</span>
          <span class="by muted">${e.actor_id === "system" ? t("tk.system") : who(e.actor_id, people, ctx.me) + " · " + tv("role", e.actor_role)}</span>
          ${e.note ? html`<div class="note">${e.actor_id === "system" ? systemNote(e, people, ctx.me) : e.note}</div>` : ""}</li>`)}</ol>
        <form id="cm-form" class="form" novalidate>
          <label class="stack"><span class="sr">${t("tk.comments")}</span><textarea name="body" rows="2" placeholder="${t("tk.comment.ph")}"></textarea></label>
          <div class="row between"><label class="check"><input type="checkbox" name="internal"> ${t("tk.comment.internal")}</label>
            <button type="submit" class="secondary">${t("tk.comment.add")}</button></div>
          <p class="form-error" role="alert"></p></form>
      </section>
    </div>
  </div>`);
  tick();
  if (tk.party_id) api("GET", P(ctx) + "/parties/" + tk.party_id).then((pa) => {
    if (ctx.alive()) $("#tk-party", el).textContent = `${pa.name} ${pa.phone || ""}`;
  }).catch(() => {});
  const reload = () => ticket(el, ctx);
  filesPanel($("#tk-files", el), P(ctx) + "/tickets/" + tk.id, { alive: ctx.alive });
  const pp = $("#print-pass", el);
  if (pp) pp.addEventListener("click", async () => {
    try { await printPreview(await fetchText(P(ctx) + `/tickets/${tk.id}/pass`), t("tk.pass", { n: tk.number })); }
    catch (e) { $("#pass-msg", el).textContent = errText(e); }
  });

  const af = $("#act-form", el);
  $("#tk-actions", el).addEventListener("click", async (ev) => {
    const b = ev.target.closest("[data-action]");
    if (!b) return;
    const a = b.dataset.action;
    $$("[data-action]", el).forEach((x) => x.classList.toggle("on", x === b));
    const approval = takesApproval(tk, a), parties = approval ? await partiesOfRecord(ctx, tk) : [];
    if (!ctx.alive()) return;
    mount(af, html`<input type="hidden" name="action" value="${a}">
      ${approval ? approvalFields(ctx, tk, a, parties) : ""}
      ${takesAssignee(a) ? html`<label class="stack"><span>${t("tk.assign_to")}</span><select name="assignee_id">
        <option value="">${a === "assign" ? t("tk.assign.duty") : t("tk.assign.keep")}</option>${staffOptions(people, "")}</select></label>` : ""}
      ${takesFee(tk, a) ? html`<label class="stack"><span>${t("tk.fee")}</span><input name="fee" inputmode="decimal" autocomplete="off"></label>` : ""}
      <label class="stack grow"><span>${t("tk.note")}</span><input name="note" autocomplete="off" placeholder="${needsNote(a) ? "" : t("tk.note.ph")}" ${needsNote(a) ? "required" : ""}></label>
      <button type="submit" class="primary" id="act-go">${tv("action", a)}</button>
      <p class="form-error" role="alert"></p>`);
    af.hidden = false;
    (af.querySelector("select, input:not([type=hidden])") || $("#act-go", af)).focus();
  });
  if (af) onSubmit(af, async (ev) => {
    ev.preventDefault();
    const fd = new FormData(af);
    const b = { action: fd.get("action") };
    if (fd.get("assignee_id")) b.assignee_id = fd.get("assignee_id");
    if ((fd.get("note") || "").trim()) b.note = fd.get("note").trim();
    if ((fd.get("fee") || "").trim()) {
      const fen = toFen(fd.get("fee"));
      if (fen === null) return fieldError(af, "fee", "money");
      b.fee = { amount: fen };
    }
    if (af.elements.how) {
      // the approval recorded at the desk: whose word, and how it was given
      const sel = af.elements.approved_by_party_id, opt = sel.selectedOptions[0];
      if (!sel.value && !(ctx.me.role === "admin" || ctx.me.role === "manager")) return fieldError(af, "approved_by_party_id", "is required");
      if (sel.value && b.action === "approve") b.approved_by_party_id = sel.value;
      if (sel.value) b.note = t("ir.note", { how: t("ir.how." + af.elements.how.value), by: opt.dataset.name }) + (b.note ? " " + b.note : "");
    }
    try {
      await api("POST", P(ctx) + `/tickets/${tk.id}/actions`, b);
      await reload();
      const pp = $("#print-pass", el);
      if (pp && b.action === "approve") pp.focus(); // approved: the pass is next
    } catch (e) { showErrors(af, e); }
  });
  const fb = $("#fb-form", el);
  if (fb) onSubmit(fb, async (ev) => {
    ev.preventDefault();
    const fd = new FormData(fb);
    const b = { rating: Number(fd.get("rating")) };
    if ((fd.get("comment") || "").trim()) b.comment = fd.get("comment").trim();
    try { await api("POST", P(ctx) + `/tickets/${tk.id}/feedback`, b); reload(); }
    catch (e) { showErrors(fb, e); }
  });
  const cf = $("#case-form", el);
  if (cf) onSubmit(cf, async () => {
    clearErrors(cf);
    const b = { summary: cf.summary.value.trim(), lesson: cf.lesson.value.trim() };
    const tags = cf.tags.value.split(/[\s,，、;；]+/).filter(Boolean);
    if (tags.length) b.tags = tags;
    try {
      const c = await api("POST", P(ctx) + `/tickets/${tk.id}/case`, b);
      if (!ctx.alive()) return;
      cf.closest("details").remove();
      mount($("#case-made", el), html`${t("q.case.made_link", { s: "" })}<a id="case-made-link" href="#/quality?tab=cases&case=${c.id}">${c.summary}</a>`);
    } catch (e) { showErrors(cf, e); }
  });
  const cm = $("#cm-form", el);
  onSubmit(cm, async (ev) => {
    ev.preventDefault();
    const body = cm.body.value.trim();
    try { await api("POST", P(ctx) + `/tickets/${tk.id}/comments`, { body, internal: cm.internal.checked }); reload(); }
    catch (e) { showErrors(cm, e); }
  });
}
