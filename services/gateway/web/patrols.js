// patrols: the property's patrols (巡查, issue L): the rounds (start one, walk
// it on a phone one card per checkpoint: OK / 不合格 per checklist line, a
// note, a photo from the camera, 开工单 for a failure; finish), the rounds of a
// day, the routes (managers make and change them), the patrol report with a bar
// per route, and the manager's daily check (例行检查). One tab each
// (#/patrols?tab=); a round's page is #/patrols/ROUND_ID.
import { t, tv } from "./i18n.js";
import { api, qs, html, mount, onSubmit, $, $$, showErrors, clearErrors, fieldError, errText, shortDt, ymd, paintThumb, FILE_TYPES, FILE_MAX } from "./lib.js";
import { TYPES, staff, who } from "./desk.js";

const P = (ctx) => `/v1/properties/${ctx.pid}`;
const canManage = (ctx) => ctx.me.role === "admin" || ctx.me.role === "manager";
const PRIORITIES = ["low", "normal", "high", "urgent"];
const PHOTO_TYPES = FILE_TYPES.filter((x) => x.startsWith("image/"));
const TABS = [
  { k: "rounds", view: rounds }, { k: "routes", view: routes }, { k: "report", view: report },
  { k: "daily", view: daily, manage: true },
];
const pad = (n) => String(n).padStart(2, "0");
const hhmm = (iso) => { if (!iso) return "—"; const d = new Date(iso); return isNaN(d) ? iso : `${pad(d.getHours())}:${pad(d.getMinutes())}`; };
const addDays = (s, n) => { const d = new Date(s + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + n); return d.toISOString().slice(0, 10); };

export async function patrols(el, ctx) {
  if (ctx.id) return roundPage(el, ctx);
  const tabs = TABS.filter((x) => !x.manage || canManage(ctx));
  const tab = tabs.find((x) => x.k === ctx.params.tab) || tabs[0];
  mount(el, html`<div class="pt"><h1 class="title">${t("nav.patrols")}</h1>
    <nav class="tabs pt-tabs" role="tablist">${tabs.map((x) => html`<a href="#/patrols?tab=${x.k}" role="tab" id="tab-${x.k}"
      aria-selected="${x === tab ? "true" : "false"}" class="${x === tab ? "active" : ""}">${t("pt.tab." + x.k)}</a>`)}</nav>
    <div id="pt-body"></div></div>`);
  await tab.view($("#pt-body", el), ctx);
}

// The API names a field of a list by its index in what was sent; the
// screen's input may be coarser (one textarea for a checklist, one for times).
function renamed(e, fn) {
  if (e && Array.isArray(e.details)) e.details = e.details.map((d) => Object.assign({}, d, { field: fn(d.field || "") }));
  return e;
}
function statusBadge(s) { return html`<span class="st pt-st-${s}">${tv("pt.status", s)}</span>`; }

/* ---------------------------------------------------------------- rounds: start, today's */
async function rounds(box, ctx) {
  const [rts, people] = await Promise.all([api("GET", P(ctx) + "/patrol-routes" + qs({ limit: 500 })), staff(ctx)]);
  if (!ctx.alive()) return;
  const active = rts.items.filter((r) => r.active);
  mount(box, html`<section class="panel pt-start"><h3>${t("pt.start.title")}</h3>
      ${active.length ? html`<form id="pt-start" class="form" novalidate>
        <label class="stack"><span>${t("pt.route")}</span><select name="route_id" class="pt-big-select">
          ${active.map((r) => html`<option value="${r.id}">${r.name} · ${r.checkpoints.length} ${t("pt.points")}${r.times.length ? " · " + r.times.join(" ") : ""}</option>`)}</select></label>
        <button class="primary big pt-big" id="pt-start-go">${t("pt.start")}</button><p class="form-error" role="alert"></p></form>`
      : html`<p class="muted" id="pt-no-routes">${t(canManage(ctx) ? "pt.no_routes.mgr" : "pt.no_routes")}</p>`}
      <div id="pt-open"></div></section>
    <section class="panel"><div class="row between"><h3>${t("pt.list")}</h3>
      <form id="pt-filter" class="filters row" role="search">
        <input type="date" name="date" value="${ctx.params.date || ymd(new Date())}" aria-label="${t("pt.date")}">
        <select name="route_id" aria-label="${t("pt.route")}"><option value="">${t("pt.all_routes")}</option>
          ${rts.items.map((r) => html`<option value="${r.id}">${r.name}</option>`)}</select>
        <select name="status" aria-label="${t("pt.status")}"><option value="">${t("all")}</option>
          ${["in_progress", "finished"].map((s) => html`<option value="${s}">${tv("pt.status", s)}</option>`)}</select></form></div>
      <div class="pt-scroll"><table class="grid" id="pt-rounds"><thead><tr><th>${t("pt.route")}</th><th>${t("pt.planned")}</th>
        <th>${t("pt.status")}</th><th>${t("pt.walker")}</th><th>${t("pt.started")}</th><th class="num">${t("pt.progress")}</th>
        <th class="num">${t("pt.failed")}</th><th class="num">${t("pt.tickets")}</th></tr></thead><tbody></tbody></table></div></section>`);
  const filter = $("#pt-filter", box);
  const row = (r) => html`<tr data-round="${r.id}"><td><a href="#/patrols/${r.id}">${r.route_name}</a></td><td>${hhmm(r.planned_at)}</td>
    <td>${statusBadge(r.status)}</td><td>${who(r.started_by, people, ctx.me)}</td><td>${shortDt(r.started_at)}</td>
    <td class="num">${r.checks_done}/${r.checkpoints_total}</td><td class="num ${r.failed_items ? "late" : ""}">${r.failed_items}</td>
    <td class="num">${r.tickets_opened}</td></tr>`;
  async function loadOpen() {
    const r = await api("GET", P(ctx) + "/patrols" + qs({ status: "in_progress", limit: 50 }));
    if (!ctx.alive()) return;
    mount($("#pt-open", box), r.items.length ? html`<h4>${t("pt.open")}</h4><ul class="pt-open">${r.items.map((x) => html`<li>
      <a class="button secondary pt-big" href="#/patrols/${x.id}" data-continue="${x.id}">${t("pt.continue")}: ${x.route_name}
        · ${hhmm(x.planned_at)} · ${x.checks_done}/${x.checkpoints_total}</a></li>`)}</ul>` : "");
  }
  async function loadList() {
    const r = await api("GET", P(ctx) + "/patrols" + qs({ date: filter.date.value, route_id: filter.route_id.value,
      status: filter.status.value, limit: 200 }));
    if (!ctx.alive()) return;
    mount($("#pt-rounds tbody", box), r.items.length ? html`${r.items.map(row)}` : html`<tr><td colspan="8" class="empty">${t("pt.none")}</td></tr>`);
  }
  filter.addEventListener("change", loadList);
  filter.addEventListener("submit", (ev) => { ev.preventDefault(); loadList(); });
  $("#pt-rounds", box).addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-round]");
    if (tr && !ev.target.closest("a")) ctx.go("#/patrols/" + tr.dataset.round);
  });
  const form = $("#pt-start", box);
  if (form) onSubmit(form, async () => {
    clearErrors(form);
    try {
      const r = await api("POST", P(ctx) + "/patrols", { route_id: form.route_id.value });
      ctx.go("#/patrols/" + r.id);
    } catch (e) { showErrors(form, e); }
  });
  await Promise.all([loadOpen(), loadList()]);
}

/* ---------------------------------------------------------------- a round's page */
function resultList(results) {
  return html`<ul class="pt-results">${results.map((x) => html`<li class="${x.ok ? "" : "pt-fail"}">
    <span class="pt-mark ${x.ok ? "pt-mark-ok" : "pt-mark-bad"}">${x.ok ? "✓ " + t("pt.ok") : "✗ " + t("pt.bad")}</span>
    <span>${x.item}</span>${x.note ? html` <span class="muted">— ${x.note}</span>` : ""}</li>`)}</ul>`;
}
function checkForm(cp) {
  return html`<form class="form pt-check" novalidate data-code="${cp.code}">
    ${cp.checklist.map((item, i) => html`<fieldset class="pt-item"><legend>${item}</legend>
      <div class="pt-toggles"><label class="pt-tog pt-tog-ok"><input type="radio" name="results[${i}].ok" value="ok"><span>✓ ${t("pt.ok")}</span></label>
        <label class="pt-tog pt-tog-bad"><input type="radio" name="results[${i}].ok" value="bad"><span>✗ ${t("pt.bad")}</span></label></div>
      <input name="results[${i}].note" class="pt-note" maxlength="2000" autocomplete="off" placeholder="${t("pt.note")}" aria-label="${t("pt.note")}: ${item}">
      </fieldset>`)}
    <label class="pt-photo button secondary"><span>${t("pt.photo")}</span>
      <input type="file" name="photo" accept="image/*" capture="environment" multiple></label>
    <span class="muted small pt-photo-n"></span>
    <div class="pt-ticket-box" hidden>
      <label class="pt-tog pt-tog-ticket"><input type="checkbox" name="open_ticket"><span>${t("pt.open_ticket")}</span></label>
      <div class="pt-ticket-fields" hidden>
        <label class="stack"><span>${t("tk.type")}</span><select name="ticket.type">${TYPES.map((x) => html`<option value="${x}" ${x === "repair" ? "selected" : ""}>${tv("type", x)}</option>`)}</select></label>
        <label class="stack"><span>${t("pt.ticket_title")}</span><input name="ticket.title" maxlength="200" autocomplete="off"></label>
        <label class="stack"><span>${t("tk.priority")}</span><select name="ticket.priority">${PRIORITIES.map((x) => html`<option value="${x}" ${x === "normal" ? "selected" : ""}>${tv("priority", x)}</option>`)}</select></label>
      </div></div>
    <p class="form-error" role="alert"></p>
    <button class="primary big pt-big">${t("pt.check.submit")}</button></form>`;
}
function card(rnd, cp, c) {
  const open = rnd.status === "in_progress";
  const state = c ? (c.failed_items ? "bad" : "ok") : (open ? "todo" : "missed");
  const label = { ok: t("pt.card.ok"), bad: t("pt.card.bad", { n: c ? c.failed_items : 0 }), todo: t("pt.card.todo"), missed: t("pt.card.missed") }[state];
  return html`<section class="panel pt-card pt-card-${state}" data-cp="${cp.code}">
    <div class="row between"><h3>${cp.name} <span class="muted small">${cp.code}</span></h3><span class="pt-state pt-state-${state}">${label}</span></div>
    ${c ? html`${resultList(c.results)}
      ${c.ticket_id ? html`<p class="pt-ticket-line">${t("pt.ticket_opened")}: <a href="#/tickets/${c.ticket_id}" class="pt-ticket" data-ticket="${c.ticket_id}">
        <span class="pt-tnum number">${c.ticket_number || "…"}</span></a></p>` : ""}
      <div class="pt-photos">${c.attachments.map((a) => html`<canvas class="thumb" width="120" height="90" data-thumb="${a.id}" data-check="${c.id}"
        title="${a.filename}"></canvas>`)}</div>
      <p class="muted small">${t("pt.checked_at", { at: shortDt(c.checked_at) })}</p>
      ${open ? html`<form class="form pt-add-photo" novalidate data-check="${c.id}"><label class="pt-photo button secondary"><span>${t("pt.photo.add")}</span>
        <input type="file" name="photo" accept="image/*" capture="environment" multiple></label><p class="form-error" role="alert"></p></form>` : ""}`
    : open ? checkForm(cp) : html`<p class="muted">${t("pt.not_checked")}</p>`}</section>`;
}
function summary(rnd, people, ctx) {
  return html`<h1 class="title">${rnd.route_name} ${statusBadge(rnd.status)}</h1>
    <p class="pt-summary"><span>${t("pt.planned")} ${hhmm(rnd.planned_at)}</span>
      <span>${t("pt.walker")} ${who(rnd.started_by, people, ctx.me)} · ${shortDt(rnd.started_at)}</span>
      <span id="pt-progress">${t("pt.progress")} ${rnd.checks.length}/${rnd.checkpoints.length}</span>
      ${rnd.finished_at ? html`<span>${t("pt.finished_at", { at: shortDt(rnd.finished_at), who: who(rnd.finished_by, people, ctx.me) })}</span>` : ""}</p>
    ${rnd.missing.length ? html`<p class="pt-missing" id="pt-missing">${t(rnd.status === "in_progress" ? "pt.missing.todo" : "pt.missing.done",
      { n: rnd.missing.length, codes: rnd.missing.join("、") })}</p>` : ""}`;
}

async function roundPage(el, ctx) {
  const base = `${P(ctx)}/patrols/${ctx.id}`;
  const [rnd0, people] = await Promise.all([api("GET", base), staff(ctx)]);
  if (!ctx.alive()) return;
  let rnd = rnd0;
  const numbers = new Map(); // ticket id -> number (or null when this caller cannot read the ticket)
  mount(el, html`<div class="pt pt-round"><p><a href="#/patrols?tab=rounds">← ${t("nav.patrols")}</a></p>
    <div id="pt-head"></div><div id="pt-cards"></div>
    <div id="pt-foot" class="pt-foot"></div><p class="form-error" id="pt-error" role="alert"></p></div>`);
  const checkOf = (code) => rnd.checks.find((c) => c.checkpoint_code === code);

  function head() {
    mount($("#pt-head", el), summary(rnd, people, ctx));
    mount($("#pt-foot", el), rnd.status === "in_progress"
      ? html`<button type="button" class="primary big pt-big" id="pt-finish">${t("pt.finish")}</button>` : "");
  }
  // The ticket's number: the check's own when the API gives it, else the
  // ticket read (a technician may not read a ticket not assigned to them).
  async function fillTickets(root) {
    for (const a of $$("a[data-ticket]", root)) {
      const id = a.dataset.ticket;
      const c = rnd.checks.find((x) => x.ticket_id === id);
      if (c && c.ticket_number) continue;
      if (!numbers.has(id)) numbers.set(id, await api("GET", `${P(ctx)}/tickets/${id}`, undefined, { noRetry: true })
        .then((tk) => tk.number).catch(() => null));
      if (!ctx.alive()) return;
      $(".pt-tnum", a).textContent = numbers.get(id) || t("pt.ticket_link");
    }
  }
  async function thumbs(root) {
    for (const c of $$("canvas[data-thumb]", root)) {
      const blob = await api("GET", `${base}/checks/${c.dataset.check}/attachments/${c.dataset.thumb}`, undefined, { raw: true, noRetry: true })
        .then((x) => x.blob()).catch(() => null);
      if (!ctx.alive()) return;
      if (blob) await paintThumb(c, blob).catch(() => {});
    }
  }
  function mountCard(cp) {
    const old = $(`.pt-card[data-cp="${CSS.escape(cp.code)}"]`, el);
    const tmp = document.createElement("div");
    mount(tmp, card(rnd, cp, checkOf(cp.code)));
    const node = tmp.firstElementChild;
    if (old) old.replaceWith(node); else $("#pt-cards", el).append(node);
    wire(node, cp);
    fillTickets(node);
    thumbs(node);
  }
  async function reload(code) {
    rnd = await api("GET", base);
    if (!ctx.alive()) return;
    head();
    if (code) mountCard(rnd.checkpoints.find((x) => x.code === code));
    else { mount($("#pt-cards", el), ""); rnd.checkpoints.forEach(mountCard); }
  }
  async function upload(form, files, checkId) {
    for (const f of files) await api("POST", `${base}/checks/${checkId}/attachments`, undefined, { file: f });
  }
  function badPhoto(form, files) {
    const bad = files.find((f) => !PHOTO_TYPES.includes(f.type) || f.size > FILE_MAX);
    if (!bad) return false;
    fieldError(form, "photo", bad.size > FILE_MAX ? "must be at most 10 MiB" : "must be a JPEG, PNG or WebP photo");
    return true;
  }

  function wire(node, cp) {
    const add = $("form.pt-add-photo", node);
    if (add) add.photo.addEventListener("change", async () => {
      clearErrors(add);
      const files = Array.from(add.photo.files);
      if (!files.length || badPhoto(add, files)) return;
      try { await upload(add, files, add.dataset.check); await reload(cp.code); } catch (e) { showErrors(add, e); }
    });
    const form = $("form.pt-check", node);
    if (!form) return;
    const box = $(".pt-ticket-box", form), fields = $(".pt-ticket-fields", form);
    const failed = () => cp.checklist.filter((item, i) => {
      const v = form.querySelector(`[name="results[${i}].ok"]:checked`);
      return v && v.value === "bad";
    });
    form.addEventListener("change", (ev) => {
      if (ev.target.name === "photo") {
        const n = ev.target.files.length;
        $(".pt-photo-n", form).textContent = n ? t("pt.photos_chosen", { n }) : "";
        return;
      }
      box.hidden = !failed().length;
      if (box.hidden) form.open_ticket.checked = false;
      fields.hidden = !form.open_ticket.checked;
      const title = form.querySelector("[name='ticket.title']");
      if (ev.target.name === "open_ticket" && form.open_ticket.checked && !title.value.trim()) title.value = `${cp.name}：${failed().join("、")}`;
    });
    onSubmit(form, async () => {
      clearErrors(form);
      const results = [];
      for (let i = 0; i < cp.checklist.length; i++) {
        const v = form.querySelector(`[name="results[${i}].ok"]:checked`);
        if (!v) return fieldError(form, `results[${i}].ok`, "choose OK or not");
        const r = { item: cp.checklist[i], ok: v.value === "ok" };
        const note = form.querySelector(`[name="results[${i}].note"]`);
        if (note.value.trim()) r.note = note.value.trim();
        results.push(r);
      }
      const files = Array.from(form.photo.files);
      if (badPhoto(form, files)) return;
      const body = { checkpoint_code: cp.code, results };
      if (form.open_ticket.checked && !box.hidden) {
        body.ticket = { type: form.querySelector("[name='ticket.type']").value,
          title: form.querySelector("[name='ticket.title']").value.trim(),
          priority: form.querySelector("[name='ticket.priority']").value };
      }
      let c;
      try { c = await api("POST", `${base}/checks`, body); } catch (e) { return showErrors(form, e); }
      // the check is recorded; a photo refused now is added again from its card
      let photoErr = null;
      try { await upload(form, files, c.id); } catch (e) { photoErr = e; }
      await reload(cp.code);
      if (photoErr) {
        const add = $(`.pt-card[data-cp="${CSS.escape(cp.code)}"] form.pt-add-photo`, el);
        if (add) showErrors(add, photoErr);
      }
      const next = rnd.checkpoints.find((x) => !checkOf(x.code));
      if (next) $(`.pt-card[data-cp="${CSS.escape(next.code)}"]`, el).scrollIntoView({ block: "start", behavior: "smooth" });
    });
  }

  el.addEventListener("click", async (ev) => {
    const b = ev.target.closest("#pt-finish");
    if (!b || b.disabled) return;
    if (rnd.missing.length && !confirm(t("pt.finish.confirm", { n: rnd.missing.length }))) return;
    b.disabled = true;
    $("#pt-error", el).textContent = "";
    try { await api("POST", base + "/finish"); await reload(); }
    catch (e) { b.disabled = false; $("#pt-error", el).textContent = errText(e); }
  });
  head();
  rnd.checkpoints.forEach(mountCard);
}

/* ---------------------------------------------------------------- routes */
function cpRow(cp, i, mgr) {
  return html`<fieldset class="pt-cp" data-i="${i}"><legend>${t("pt.cp.n", { n: i + 1 })}</legend>
    <div class="row"><label class="stack"><span>${t("pt.cp.code")}</span><input name="checkpoints[${i}].code" value="${cp.code}" maxlength="32" autocomplete="off" placeholder="B1-PUMP" ${mgr ? "" : "disabled"}></label>
      <label class="stack grow"><span>${t("pt.cp.name")}</span><input name="checkpoints[${i}].name" value="${cp.name}" maxlength="200" autocomplete="off" ${mgr ? "" : "disabled"}></label>
      ${mgr ? html`<button type="button" class="link danger" data-rm-cp="${i}">${t("set.remove")}</button>` : ""}</div>
    <label class="stack"><span>${t("pt.cp.checklist")}</span><textarea name="checkpoints[${i}].checklist" rows="3"
      placeholder="${t("pt.cp.checklist.ph")}" ${mgr ? "" : "disabled"}>${(cp.checklist || []).join("\n")}</textarea></label></fieldset>`;
}
async function routes(box, ctx) {
  const mgr = canManage(ctx);
  mount(box, html`<section class="panel"><h3>${t("pt.routes")}</h3>
      <div class="pt-scroll"><table class="grid" id="rt-list"><thead><tr><th>${t("pt.route")}</th><th>${t("pt.checkpoints")}</th><th>${t("pt.times")}</th>
        <th>${t("pt.status")}</th><th></th></tr></thead><tbody></tbody></table></div></section>
    ${mgr ? html`<section class="panel"><h3 id="rt-title">${t("pt.route.new")}</h3>
      <form id="rt-form" class="form" novalidate><input type="hidden" name="id">
        <div class="row"><label class="stack grow"><span>${t("pt.route.name")}</span><input name="name" maxlength="200" autocomplete="off"></label>
          <label class="stack grow"><span>${t("pt.times")}</span><input name="times" autocomplete="off" placeholder="09:00 15:00"></label></div>
        <p class="muted small">${t("pt.times.hint")}</p>
        <div id="rt-cps"></div>
        <button type="button" class="secondary" id="rt-add-cp">${t("pt.cp.add")}</button>
        <p class="form-error" role="alert"></p>
        <div class="row"><button class="primary">${t("save")}</button><button type="button" class="secondary" id="rt-cancel" hidden>${t("cancel")}</button></div>
        <p class="ok" id="rt-done" role="status"></p></form></section>` : html`<p class="muted">${t("pt.routes.readonly")}</p>`}`);
  let list = [];
  async function load() {
    const r = await api("GET", P(ctx) + "/patrol-routes" + qs({ limit: 500 }));
    if (!ctx.alive()) return;
    list = r.items;
    mount($("#rt-list tbody", box), list.length ? html`${list.map((x) => html`<tr data-route-id="${x.id}" class="${x.active ? "" : "pt-inactive"}">
      <td>${x.name}</td><td>${x.checkpoints.map((c) => c.name).join("、")}</td><td>${x.times.join(" ") || "—"}</td>
      <td>${x.active ? t("pt.active") : t("pt.inactive")}</td>
      <td>${mgr ? html`<button type="button" class="secondary small-btn" data-edit="${x.id}">${t("set.edit")}</button>
        <button type="button" class="link ${x.active ? "danger" : ""}" data-active="${x.active ? "false" : "true"}" data-id="${x.id}">${t(x.active ? "pt.deactivate" : "pt.activate")}</button>` : ""}</td></tr>`)}`
      : html`<tr><td colspan="5" class="empty">${t("pt.routes.none")}</td></tr>`);
  }
  if (!mgr) return load();
  const form = $("#rt-form", box), cps = $("#rt-cps", box);
  // the rows as typed (an edit keeps what is in the other rows)
  const rows = () => $$("fieldset.pt-cp", cps).map((f, i) => ({
    code: f.querySelector(`[name="checkpoints[${i}].code"]`).value,
    name: f.querySelector(`[name="checkpoints[${i}].name"]`).value,
    checklist: f.querySelector(`[name="checkpoints[${i}].checklist"]`).value.split("\n"),
  }));
  const setRows = (list2) => mount(cps, html`${list2.map((cp, i) => cpRow(cp, i, true))}`);
  function reset(route) {
    clearErrors(form);
    form.reset();
    form.id.value = route ? route.id : "";
    form.name.value = route ? route.name : "";
    form.times.value = route ? route.times.join(" ") : "";
    setRows(route ? route.checkpoints : [{ code: "", name: "", checklist: [] }]);
    $("#rt-title", box).textContent = route ? t("pt.route.edit", { name: route.name }) : t("pt.route.new");
    $("#rt-cancel", box).hidden = !route;
  }
  $("#rt-add-cp", box).addEventListener("click", () => {
    const r = rows();
    r.push({ code: "", name: "", checklist: [] });
    setRows(r);
    cps.querySelector(`[name="checkpoints[${r.length - 1}].code"]`).focus();
  });
  cps.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-rm-cp]");
    if (!b) return;
    const r = rows();
    r.splice(Number(b.dataset.rmCp), 1);
    setRows(r.length ? r : [{ code: "", name: "", checklist: [] }]);
  });
  $("#rt-cancel", box).addEventListener("click", () => reset(null));
  onSubmit(form, async () => {
    clearErrors(form);
    const times = form.times.value.split(/[\s,，、;；]+/).filter(Boolean)
      .map((x) => (/^\d:\d\d$/.test(x) ? "0" + x : x));
    const body = {
      name: form.name.value.trim(), times,
      checkpoints: rows().map((c) => ({ code: c.code.trim(), name: c.name.trim(), checklist: c.checklist.map((s) => s.trim()).filter(Boolean) })),
    };
    const id = form.id.value;
    try {
      const r = await api(id ? "PATCH" : "POST", P(ctx) + "/patrol-routes" + (id ? "/" + id : ""), body);
      reset(null);
      $("#rt-done", box).textContent = t("set.saved", { name: r.name });
      await load();
    } catch (e) {
      showErrors(form, renamed(e, (f) => (/^times\[\d+\]$/.test(f) ? "times" : f.replace(/^(checkpoints\[\d+\]\.checklist)\[\d+\]$/, "$1"))));
    }
  });
  box.addEventListener("click", async (ev) => {
    const ed = ev.target.closest("[data-edit]");
    if (ed) {
      reset(list.find((x) => x.id === ed.dataset.edit));
      form.name.focus();
      return;
    }
    const b = ev.target.closest("[data-active]");
    if (!b || b.disabled) return;
    b.disabled = true;
    try {
      await api("PATCH", `${P(ctx)}/patrol-routes/${b.dataset.id}`, { active: b.dataset.active === "true" });
      await load();
    } catch (e) { b.disabled = false; $("#rt-done", box).textContent = errText(e); }
  });
  reset(null);
  await load();
}

/* ---------------------------------------------------------------- the report */
// One row per route: planned (the light bar) against done (the dark one), the
// missed rounds in red after them; a number at the end of each.
function chart(items) {
  const W = 520, L = 120, R = 130, H = 30, top = 8;
  const max = Math.max(1, ...items.map((x) => Math.max(x.rounds_planned, x.rounds_done + x.rounds_in_progress)));
  const w = (n) => Math.round(((W - L - R) * n) / max);
  const clip = (s) => (s.length > 8 ? s.slice(0, 7) + "…" : s);
  return html`<svg class="pt-chart" id="pt-chart" viewBox="0 0 ${W} ${top + items.length * H + 24}" role="img"
    aria-label="${t("pt.rep.chart")}" xmlns="http://www.w3.org/2000/svg">
    ${items.map((x, i) => {
      const y = top + i * H;
      return html`<g data-route="${x.route_id}"><title>${x.name}: ${t("pt.rep.bar", { d: x.rounds_done, p: x.rounds_planned, m: x.rounds_missed })}</title>
        <text x="${L - 8}" y="${y + 15}" text-anchor="end" class="pt-c-label">${clip(x.name)}</text>
        <rect x="${L}" y="${y + 2}" width="${w(x.rounds_planned)}" height="18" rx="2" class="pt-c-planned"></rect>
        <rect x="${L}" y="${y + 6}" width="${w(x.rounds_done)}" height="10" rx="2" class="pt-c-done"></rect>
        ${x.rounds_missed ? html`<rect x="${L + w(x.rounds_done)}" y="${y + 6}" width="${w(x.rounds_missed)}" height="10" class="pt-c-missed"></rect>` : ""}
        <text x="${L + w(Math.max(x.rounds_planned, x.rounds_done + x.rounds_missed)) + 6}" y="${y + 15}" class="pt-c-num">${t("pt.rep.bar_num", { d: x.rounds_done, p: x.rounds_planned })}${x.rounds_missed ? " · " + t("pt.rep.missed_n", { n: x.rounds_missed }) : ""}</text></g>`;
    })}
    <g transform="translate(${L},${top + items.length * H + 8})">
      <rect width="12" height="10" class="pt-c-planned"></rect><text x="16" y="9" class="pt-c-legend">${t("pt.rep.planned")}</text>
      <rect x="90" width="12" height="10" class="pt-c-done"></rect><text x="106" y="9" class="pt-c-legend">${t("pt.rep.done")}</text>
      <rect x="180" width="12" height="10" class="pt-c-missed"></rect><text x="196" y="9" class="pt-c-legend">${t("pt.rep.missed")}</text></g></svg>`;
}
async function report(box, ctx) {
  const today = ymd(new Date());
  mount(box, html`<section class="panel"><form id="rep-form" class="form row" novalidate>
      <label class="stack"><span>${t("pt.rep.from")}</span><input type="date" name="from" value="${ctx.params.from || addDays(today, -6)}"></label>
      <label class="stack"><span>${t("pt.rep.to")}</span><input type="date" name="to" value="${ctx.params.to || today}"></label>
      <button class="primary">${t("pt.rep.go")}</button><p class="form-error" role="alert"></p></form>
    <div id="rep-chart"></div>
    <div class="pt-scroll"><table class="grid" id="rep-table"><thead><tr><th>${t("pt.route")}</th><th class="num">${t("pt.rep.planned")}</th>
      <th class="num">${t("pt.rep.done")}</th><th class="num">${t("pt.rep.in_progress")}</th><th class="num">${t("pt.rep.missed")}</th>
      <th class="num">${t("pt.rep.cp_missed")}</th><th class="num">${t("pt.rep.failed")}</th><th class="num">${t("pt.rep.opened")}</th>
      <th class="num">${t("pt.rep.closed")}</th><th class="num">${t("pt.rep.median")}</th></tr></thead><tbody></tbody></table></div></section>`);
  const form = $("#rep-form", box);
  async function load() {
    clearErrors(form);
    let r;
    try { r = await api("GET", P(ctx) + "/reports/patrol" + qs({ from: form.from.value, to: form.to.value })); }
    catch (e) { return showErrors(form, e); }
    if (!ctx.alive()) return;
    const items = r.items.filter((x) => x.active || x.rounds_planned || x.rounds_done || x.rounds_in_progress);
    mount($("#rep-chart", box), items.length ? chart(items) : html`<p class="empty">${t("pt.rep.none")}</p>`);
    mount($("#rep-table tbody", box), html`${items.map((x) => html`<tr data-route="${x.route_id}"><td>${x.name}</td>
      <td class="num">${x.rounds_planned}</td><td class="num">${x.rounds_done}</td><td class="num">${x.rounds_in_progress}</td>
      <td class="num ${x.rounds_missed ? "late" : ""}">${x.rounds_missed}</td><td class="num ${x.checkpoints_missed ? "late" : ""}">${x.checkpoints_missed}</td>
      <td class="num">${x.failed_items}</td><td class="num">${x.tickets_opened}</td><td class="num">${x.tickets_closed}</td>
      <td class="num">${x.ticket_close_hours_median === null ? "—" : x.ticket_close_hours_median.toFixed(1)}</td></tr>`)}`);
  }
  onSubmit(form, load);
  await load();
}

/* ---------------------------------------------------------------- the daily check (例行检查) */
async function daily(box, ctx) {
  const [list, range, people] = await Promise.all([api("GET", P(ctx) + "/daily-check-items"), api("GET", P(ctx) + "/daily-checks"), staff(ctx)]);
  if (!ctx.alive()) return;
  const today = range.to;
  const byDate = new Map(range.items.map((x) => [x.date, x]));
  const missed = new Set(range.missed);
  const done = byDate.get(today);
  const days = [];
  for (let d = range.from; d <= range.to; d = addDays(d, 1)) days.push(d);
  const dayClass = (d) => (byDate.has(d) ? (byDate.get(d).all_ok ? "dc-ok" : "dc-bad") : missed.has(d) ? "dc-missed" : "dc-none");
  const dayTitle = (d) => (byDate.has(d) ? (byDate.get(d).all_ok ? t("dc.all_ok") : t("dc.failed_n", { n: byDate.get(d).failed }))
    : missed.has(d) ? t("dc.missed") : "");
  mount(box, html`<div class="grid2 pt-grid">
    <section class="panel"><h3>${t("dc.today", { d: today })}</h3>
      ${done ? html`<p class="ok" id="dc-done">${t("dc.recorded", { who: who(done.created_by, people, ctx.me), at: shortDt(done.created_at) })}</p>${resultList(done.items)}` : ""}
      <form id="dc-form" class="form" novalidate ${done ? "hidden" : ""}>
        <label class="stack"><span>${t("dc.date")}</span><input type="date" name="date" value="${done ? "" : today}" max="${today}"></label>
        ${list.items.map((item, i) => html`<fieldset class="pt-item"><legend>${item}</legend>
          <div class="pt-toggles"><label class="pt-tog pt-tog-ok"><input type="radio" name="items[${i}].ok" value="ok"><span>✓ ${t("pt.ok")}</span></label>
            <label class="pt-tog pt-tog-bad"><input type="radio" name="items[${i}].ok" value="bad"><span>✗ ${t("pt.bad")}</span></label></div>
          <input name="items[${i}].note" class="pt-note" maxlength="1000" autocomplete="off" placeholder="${t("pt.note")}" aria-label="${t("pt.note")}: ${item}"></fieldset>`)}
        <p class="form-error" role="alert"></p><button class="primary big pt-big">${t("dc.submit")}</button></form>
      ${done ? html`<button type="button" class="link" id="dc-other">${t("dc.other_day")}</button>` : ""}</section>
    <section class="panel"><h3>${t("dc.last", { n: days.length })} <span class="count" id="dc-missed-n">${range.missed.length ? t("dc.missed_n", { n: range.missed.length }) : ""}</span></h3>
      <ol class="dc-days" id="dc-days">${days.map((d) => html`<li class="${dayClass(d)} ${d === today ? "dc-today" : ""}" data-day="${d}"
        title="${d} ${dayTitle(d)}"><span>${Number(d.slice(8))}</span></li>`)}</ol>
      <p class="muted small dc-legend"><span class="dc-key dc-ok"></span>${t("dc.all_ok")} <span class="dc-key dc-bad"></span>${t("dc.has_failed")}
        <span class="dc-key dc-missed"></span>${t("dc.missed")}</p>
      <div class="pt-scroll dc-scroll"><table class="grid" id="dc-list"><thead><tr><th>${t("dc.date")}</th><th>${t("dc.result")}</th><th>${t("dc.by")}</th></tr></thead>
        <tbody>${days.slice().reverse().filter((d) => byDate.has(d) || missed.has(d)).map((d) => {
          const x = byDate.get(d);
          return x ? html`<tr data-day="${d}"><td>${d}</td><td>${x.all_ok ? t("dc.all_ok") : html`<span class="late">${t("dc.failed_n", { n: x.failed })}</span>:
              ${x.items.filter((i) => !i.ok).map((i) => `${i.item}${i.note ? "（" + i.note + "）" : ""}`).join("、")}`}</td>
              <td>${who(x.created_by, people, ctx.me)}</td></tr>`
            : html`<tr data-day="${d}" class="dc-missed-row"><td>${d}</td><td colspan="2"><span class="st st-escalated">${t("dc.missed")}</span></td></tr>`;
        })}</tbody></table></div></section></div>
    <section class="panel"><h3>${t("dc.items")}</h3>
      <form id="dci-form" class="form" novalidate>
        <p class="muted small">${t(list.default ? "dc.items.default" : "dc.items.own")}</p>
        <label class="stack"><span>${t("dc.items.label")}</span><textarea name="items" rows="${Math.min(12, list.items.length + 2)}">${list.items.join("\n")}</textarea></label>
        <p class="form-error" role="alert"></p><button class="secondary">${t("dc.items.save")}</button>
        <p class="ok" id="dci-done" role="status"></p></form></section>`);
  const form = $("#dc-form", box), items = $("#dci-form", box);
  const other = $("#dc-other", box);
  if (other) other.addEventListener("click", () => { form.hidden = false; other.hidden = true; form.date.value = ""; form.date.focus(); });
  onSubmit(form, async () => {
    clearErrors(form);
    if (!form.date.value) return fieldError(form, "date", "is required");
    const body = { date: form.date.value, items: [] };
    for (let i = 0; i < list.items.length; i++) {
      const v = form.querySelector(`[name="items[${i}].ok"]:checked`);
      if (!v) return fieldError(form, `items[${i}].ok`, "choose OK or not");
      const r = { item: list.items[i], ok: v.value === "ok" };
      const note = form.querySelector(`[name="items[${i}].note"]`).value.trim();
      if (note) r.note = note;
      body.items.push(r);
    }
    try {
      await api("POST", P(ctx) + "/daily-checks", body);
      await daily(box, ctx);
    } catch (e) { showErrors(form, e); }
  });
  onSubmit(items, async () => {
    clearErrors(items);
    const body = { items: items.items.value.split("\n").map((s) => s.trim()).filter(Boolean) };
    try {
      const r = await api("PUT", P(ctx) + "/daily-check-items", body);
      await daily(box, ctx);
      $("#dci-done", box).textContent = t("dc.items.saved", { n: r.items.length });
    } catch (e) { showErrors(items, renamed(e, (f) => (/^items\[\d+\]$/.test(f) ? "items" : f))); }
  });
}
