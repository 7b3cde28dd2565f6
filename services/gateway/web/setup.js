// setup: service setup (服务设置): the SLA policies per type and priority with
// their business-hours calendars (SLA 时限), the duty roster with its gaps
// (值班表), FAQ upkeep (答客问), the move-in checklist template with the
// desk's settings (入伙清单 / 前台设置) and the notification log (通知记录).
// One tab each (#/setup?tab=). Admins and managers change them; an agent sees
// what the API lets an agent read (policies, calendars, roster, FAQ, the
// checklist), read-only; the desk settings and the log are not shown to an agent.
import { t, tv } from "./i18n.js";
import { api, qs, html, mount, onSubmit, $, $$, showErrors, clearErrors, fieldError, errText, dt, shortDt, duration, ymd } from "./lib.js";
import { TYPES, staff, who } from "./desk.js";

const P = (ctx) => `/v1/properties/${ctx.pid}`;
const canManage = (ctx) => ctx.me.role === "admin" || ctx.me.role === "manager";
const PRIORITIES = ["urgent", "high", "normal", "low"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const POSTS = ["front_desk", "repair", "complaint", "manager", "security"];
const VALUE_KINDS = ["none", "count", "reading", "text"];
const LOG_STATUSES = ["delivered", "queued", "sent", "failed", "not_sent"];
const LOG_CHANNELS = ["inbox", "sms", "email"];
const LOG_EVENTS = ["ticket.created", "ticket.assigned", "ticket.resolved", "ticket.escalated", "ticket.sla_warning",
  "ticket.sla_breached", "bill.issued", "bill.overdue", "payment.received", "occupancy.started", "occupancy.ended", "announcement"];
const LOG_PAGE = 50;
const TABS = [
  { k: "sla", view: sla }, { k: "roster", view: roster }, { k: "faq", view: faq },
  { k: "movein", view: moveIn }, { k: "log", view: log, manage: true },
];
function debounce(fn, ms) { let h = 0; return (...a) => { clearTimeout(h); h = setTimeout(() => fn(...a), ms); }; }
const pad = (n) => String(n).padStart(2, "0");
const localInput = (d) => `${ymd(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;

export async function setup(el, ctx) {
  const tabs = TABS.filter((x) => !x.manage || canManage(ctx));
  const tab = tabs.find((x) => x.k === ctx.params.tab) || tabs[0];
  mount(el, html`<h1 class="title">${t("nav.setup")}</h1>
    <nav class="tabs" role="tablist">${tabs.map((x) => html`<a href="#/setup?tab=${x.k}" role="tab" id="tab-${x.k}"
      aria-selected="${x === tab ? "true" : "false"}" class="${x === tab ? "active" : ""}">${t("set.tab." + x.k)}</a>`)}</nav>
    <div id="set-body"></div>`);
  await tab.view($("#set-body", el), ctx);
}

// The API names a field of a list by its index in what was sent; the
// screen's inputs may sit elsewhere (rename) or be coarser (a day's ranges).
function renamed(e, fn) {
  if (e && Array.isArray(e.details)) e.details = e.details.map((d) => Object.assign({}, d, { field: fn(d.field || "") }));
  return e;
}

/* ---------------------------------------------------------------- SLA policies and calendars */
function minutesHint(m) { return m ? duration(m * 60000) : ""; }
function rangesText(ranges) { return (ranges || []).map((r) => r[0] + "-" + r[1]).join(" "); }
// "09:00-12:00 13:00-18:00" -> [["09:00","12:00"],["13:00","18:00"]]; null when not ranges
function parseRanges(s) {
  const out = [];
  for (const tok of s.split(/[\s,，、;；]+/).filter(Boolean)) {
    const m = /^(\d{1,2}):(\d{2})\s*[-–~～至]\s*(\d{1,2}):(\d{2})$/.exec(tok);
    if (!m) return null;
    out.push([pad(m[1]) + ":" + m[2], pad(m[3]) + ":" + m[4]]);
  }
  return out;
}
// Single days from the API, runs of consecutive equal days as one row (a from..to range).
function dayRows(days) {
  const rows = [];
  const next = (d) => { const x = new Date(d + "T00:00:00Z"); x.setUTCDate(x.getUTCDate() + 1); return x.toISOString().slice(0, 10); };
  for (const d of (days || []).slice().sort((a, b) => (a.day < b.day ? -1 : 1))) {
    const last = rows[rows.length - 1];
    if (last && last.kind === d.kind && (last.name || "") === (d.name || "") && (last.as || "") === (d.as || "") && next(last.to) === d.day) last.to = d.day;
    else rows.push({ day: d.day, to: d.day, kind: d.kind, name: d.name || "", as: d.as || "" });
  }
  return rows;
}
function calSummary(c) {
  const open = DAYS.filter((d) => c.weekly && c.weekly[d] && c.weekly[d].length);
  const hol = (c.days || []).filter((d) => d.kind === "holiday").length, work = (c.days || []).filter((d) => d.kind === "workday").length;
  return `${open.map((d) => t("set.wd." + d)).join(" ")} · ${rangesText(c.weekly[open[0]] || [])} · ${t("set.cal.days", { h: hol, w: work })}`;
}

async function sla(box, ctx) {
  const mgr = canManage(ctx);
  let [pol, cals] = await Promise.all([api("GET", P(ctx) + "/sla-policies"), api("GET", P(ctx) + "/sla-calendars")]);
  if (!ctx.alive()) return;
  let rows = [];
  const calName = (id) => { const c = cals.items.find((x) => x.id === id); return c ? c.name : id ? id.slice(0, 8) : t("set.sla.24h"); };
  mount(box, html`<section class="panel"><div class="row between"><h3>${t("set.sla.title")}</h3>
      <span class="muted small">${t("set.sla.hint")}</span></div>
    <form id="sla-form" class="form" novalidate>
      <div class="scroll-box"><table class="grid" id="sla-grid"><thead><tr><th>${t("tk.type")}</th><th>${t("tk.priority")}</th>
        <th>${t("set.sla.respond")}</th><th>${t("set.sla.resolve")}</th><th>${t("set.sla.warn")}</th><th>${t("set.sla.calendar")}</th>
        <th>${t("set.sla.source")}</th></tr></thead><tbody></tbody></table></div>
      ${mgr ? html`<div class="row actions"><button class="primary">${t("set.sla.save")}</button>
        <span class="ok" id="sla-done" role="status"></span></div>` : ""}
      <p class="form-error" role="alert"></p></form></section>
    <div class="grid2">
      <section class="panel"><h3>${t("set.cal.title")}</h3><table class="grid" id="cal-list"><thead><tr><th>${t("set.cal.name")}</th>
        <th>${t("set.cal.tz")}</th><th>${t("set.cal.week")}</th><th></th></tr></thead><tbody></tbody></table></section>
      <section class="panel" id="cal-panel"><h3 id="cal-form-title"></h3>
        <form id="cal-form" class="form" novalidate></form></section>
    </div>`);
  const form = $("#sla-form", box), calForm = $("#cal-form", box);

  function renderGrid() {
    rows = pol.items.slice().sort((a, b) => TYPES.indexOf(a.type) - TYPES.indexOf(b.type) || PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority));
    const cell = (p, i, f) => (mgr ? html`<input type="number" min="${f === "warn_minutes" ? 0 : 1}" max="525600" step="1" class="mins"
        name="items[${i}].${f}" value="${p[f]}" aria-label="${tv("type", p.type)} ${tv("priority", p.priority)} ${t("set.sla." + f.split("_")[0])}">
        <span class="muted small" data-hint="${i}.${f}">${minutesHint(p[f])}</span>`
      : html`${p[f]} <span class="muted small">${minutesHint(p[f])}</span>`);
    mount($("#sla-grid tbody", box), html`${rows.map((p, i) => html`<tr data-sla="${p.type}.${p.priority}" class="${p.priority === "urgent" ? "group-start" : ""}">
      <td>${p.priority === "urgent" ? tv("type", p.type) : ""}</td><td><span class="pr pr-${p.priority}">${tv("priority", p.priority)}</span></td>
      <td>${cell(p, i, "respond_minutes")}</td><td>${cell(p, i, "resolve_minutes")}</td><td>${cell(p, i, "warn_minutes")}</td>
      <td>${mgr ? html`<select name="items[${i}].calendar_id" aria-label="${t("set.sla.calendar")}"><option value="">${t("set.sla.24h")}</option>
          ${cals.items.map((c) => html`<option value="${c.id}" ${c.id === p.calendar_id ? "selected" : ""}>${c.name}</option>`)}</select>`
        : calName(p.calendar_id)}</td>
      <td>${mgr ? html`<label class="check"><input type="checkbox" name="items[${i}].own" ${p.source === "property" ? "checked" : ""}>
          ${t("set.sla.own")}</label>` : html`<span class="st ${p.source === "property" ? "st-key" : ""}">${t("set.sla.src." + p.source)}</span>`}</td></tr>`)}`);
  }
  function renderCalendars() {
    mount($("#cal-list tbody", box), cals.items.length ? html`${cals.items.map((c) => html`<tr data-cal="${c.id}">
      <td>${c.name}</td><td>${c.timezone}</td><td class="small">${calSummary(c)}</td>
      <td><button type="button" class="secondary small-btn" data-cal-open="${c.id}">${mgr ? t("set.edit") : t("open")}</button></td></tr>`)}`
      : html`<tr><td colspan="4" class="empty">${t("set.cal.none")}</td></tr>`);
  }
  // The calendar's form: a new one, or the one of id (read-only for an agent).
  function openCalendar(c) {
    const ro = !mgr;
    $("#cal-form-title", box).textContent = c ? (ro ? c.name : t("set.cal.edit", { name: c.name })) : t("set.cal.new");
    calForm.dataset.id = c ? c.id : "";
    const days = c ? dayRows(c.days) : [];
    mount(calForm, html`<fieldset ${ro ? "disabled" : ""}>
      <div class="row"><label class="stack grow"><span>${t("set.cal.name")}</span><input name="name" maxlength="100" value="${c ? c.name : ""}" autocomplete="off"></label>
        <label class="stack"><span>${t("set.cal.tz")}</span><input name="timezone" list="tz-list" value="${c ? c.timezone : "Asia/Shanghai"}" autocomplete="off"></label>
        <datalist id="tz-list"><option value="Asia/Shanghai"></option><option value="Asia/Hong_Kong"></option><option value="Asia/Taipei"></option><option value="UTC"></option></datalist></div>
      <p class="muted small">${t("set.cal.hours_hint")}</p>
      <div class="week">${DAYS.map((d) => html`<label class="stack"><span>${t("set.wd." + d)}</span>
        <input name="weekly.${d}" autocomplete="off" placeholder="${d === "sat" || d === "sun" ? t("set.cal.closed") : "09:00-18:00"}"
          value="${c ? rangesText(c.weekly[d]) : (d === "sat" || d === "sun" ? "" : "09:00-12:00 13:00-18:00")}"></label>`)}</div>
      <h4>${t("set.cal.exceptions")}</h4>
      <table class="grid" id="cal-days"><thead><tr><th>${t("set.cal.from")}</th><th>${t("set.cal.to")}</th><th>${t("set.cal.kind")}</th>
        <th>${t("set.cal.dname")}</th><th>${t("set.cal.as")}</th><th></th></tr></thead><tbody></tbody></table>
      ${ro ? "" : html`<div class="row"><button type="button" class="secondary small-btn" id="cal-add-day">${t("set.cal.add_day")}</button></div>
      <p class="form-error" role="alert"></p>
      <div class="row"><button class="primary">${c ? t("save") : t("set.cal.create")}</button>
        ${c ? html`<button type="button" class="secondary" id="cal-new">${t("set.cal.new")}</button>` : ""}
        <span class="ok" id="cal-done" role="status"></span></div>`}</fieldset>`);
    renderDays(days);
  }
  function dayRow(d, i) {
    return html`<tr><td><input type="date" name="days[${i}].day" value="${d.day}" aria-label="${t("set.cal.from")}"></td>
      <td><input type="date" name="days[${i}].to" value="${d.to && d.to !== d.day ? d.to : ""}" aria-label="${t("set.cal.to")}"></td>
      <td><select name="days[${i}].kind" aria-label="${t("set.cal.kind")}">${["holiday", "workday"].map((k) => html`
        <option value="${k}" ${k === d.kind ? "selected" : ""}>${t("set.cal.kind." + k)}</option>`)}</select></td>
      <td><input name="days[${i}].name" value="${d.name}" maxlength="100" autocomplete="off" aria-label="${t("set.cal.dname")}"></td>
      <td><select name="days[${i}].as" aria-label="${t("set.cal.as")}"><option value=""></option>${DAYS.map((w) => html`
        <option value="${w}" ${w === d.as ? "selected" : ""}>${t("set.wd." + w)}</option>`)}</select></td>
      <td><button type="button" class="link danger" data-del-day="${i}" aria-label="${t("set.remove")}">✕</button></td></tr>`;
  }
  function readDays() {
    return $$("#cal-days tbody tr", box).map((tr, i) => {
      const v = (f) => { const n = tr.querySelector(`[name="days[${i}].${f}"]`); return n ? n.value.trim() : ""; };
      return { day: v("day"), to: v("to"), kind: v("kind") || "holiday", name: v("name"), as: v("as") };
    });
  }
  function renderDays(days) {
    mount($("#cal-days tbody", box), days.length ? html`${days.map(dayRow)}` : html`<tr class="none"><td colspan="6" class="empty">${t("none")}</td></tr>`);
  }
  calForm.addEventListener("click", (ev) => {
    if (ev.target.closest("#cal-add-day")) {
      const days = readDays().filter((d) => d.day || d.name);
      days.push({ day: "", to: "", kind: "holiday", name: "", as: "" });
      renderDays(days);
      $(`[name="days[${days.length - 1}].day"]`, calForm).focus();
    } else if (ev.target.closest("[data-del-day]")) {
      const i = Number(ev.target.closest("[data-del-day]").dataset.delDay);
      renderDays(readDays().filter((d, k) => k !== i));
    } else if (ev.target.closest("#cal-new")) openCalendar(null);
  });
  box.addEventListener("click", async (ev) => {
    const b = ev.target.closest("[data-cal-open]");
    if (!b) return;
    const c = await api("GET", P(ctx) + "/sla-calendars/" + b.dataset.calOpen).catch(() => null);
    if (c && ctx.alive()) { openCalendar(c); calForm.name && calForm.name.focus(); }
  });
  onSubmit(calForm, async () => {
    clearErrors(calForm);
    const weekly = {};
    for (const d of DAYS) {
      const s = calForm[`weekly.${d}`].value.trim();
      if (!s) continue;
      const r = parseRanges(s);
      if (!r) return fieldError(calForm, `weekly.${d}`, "use HH:MM-HH:MM ranges, e.g. 09:00-12:00 13:00-18:00");
      weekly[d] = r;
    }
    const days = readDays().filter((d) => d.day || d.to || d.name).map((d) => {
      const o = { kind: d.kind };
      if (d.to && d.to !== d.day) { o.from = d.day; o.to = d.to; } else o.day = d.day;
      if (d.name) o.name = d.name;
      if (d.as && d.kind === "workday") o.as = d.as;
      return o;
    });
    const body = { name: calForm.name.value.trim(), timezone: calForm.timezone.value.trim(), weekly, days };
    const id = calForm.dataset.id;
    try {
      const c = await api(id ? "PUT" : "POST", P(ctx) + "/sla-calendars" + (id ? "/" + id : ""), body);
      cals = await api("GET", P(ctx) + "/sla-calendars");
      if (!ctx.alive()) return;
      renderCalendars();
      renderGrid();
      openCalendar(c);
      $("#cal-done", box).textContent = t(id ? "set.saved" : "set.cal.created", { name: c.name });
    } catch (e) {
      if (e.code === "conflict" && !e.details.length) return fieldError(calForm, "name", "already exists in this property");
      // weekly.mon[1] -> the Monday's input; days[2].from -> the row's first date
      showErrors(calForm, renamed(e, (f) => f.replace(/^(weekly\.\w+)\[\d+\].*$/, "$1").replace(/^(days\[\d+\])\.from$/, "$1.day")));
    }
  });
  onSubmit(form, async () => {
    clearErrors(form);
    // what goes: every row this property sets (本项目); a row unticked goes back to its default
    const sent = [], at = [];
    rows.forEach((p, i) => {
      if (!form[`items[${i}].own`].checked) return;
      const n = (f) => { const s = form[`items[${i}].${f}`].value.trim(); return s === "" || isNaN(Number(s)) ? s : Number(s); };
      sent.push({ type: p.type, priority: p.priority, respond_minutes: n("respond_minutes"), resolve_minutes: n("resolve_minutes"),
        warn_minutes: n("warn_minutes"), calendar_id: form[`items[${i}].calendar_id`].value || null });
      at.push(i);
    });
    try {
      pol = await api("PUT", P(ctx) + "/sla-policies", { items: sent });
      if (!ctx.alive()) return;
      renderGrid();
      $("#sla-done", box).textContent = t("set.sla.saved", { n: sent.length });
    } catch (e) {
      showErrors(form, renamed(e, (f) => f.replace(/^items\[(\d+)\]/, (m, j) => (at[j] === undefined ? m : `items[${at[j]}]`))));
    }
  });
  if (mgr) {
    // a changed number ticks the row's 本项目 and says what the minutes are
    form.addEventListener("input", (ev) => {
      const m = /^items\[(\d+)\]\.(\w+)$/.exec(ev.target.name || "");
      if (!m || m[2] === "own") return;
      form[`items[${m[1]}].own`].checked = true;
      const hint = $(`[data-hint="${m[1]}.${m[2]}"]`, form);
      if (hint) hint.textContent = minutesHint(Number(ev.target.value));
    });
    form.addEventListener("change", (ev) => {
      const m = /^items\[(\d+)\]\.calendar_id$/.exec(ev.target.name || "");
      if (m) form[`items[${m[1]}].own`].checked = true;
    });
  }
  renderGrid();
  renderCalendars();
  if (mgr) openCalendar(null);
  else if (cals.items.length) openCalendar(await api("GET", P(ctx) + "/sla-calendars/" + cals.items[0].id));
  else $("#cal-panel", box).hidden = true;
}

/* ---------------------------------------------------------------- duty roster */
function monday(d) {
  const x = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  x.setDate(x.getDate() - ((x.getDay() + 6) % 7));
  return x;
}
const postName = (p) => tv("post", p);
function span(a, b) {
  const x = new Date(a), y = new Date(b);
  const wd = (d) => t("set.wd." + DAYS[(d.getDay() + 6) % 7]);
  const same = x.toDateString() === y.toDateString();
  const hm = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return `${wd(x)} ${dt(a).slice(5)} – ${same ? hm(y) : wd(y) + " " + dt(b).slice(5)}`;
}

async function roster(box, ctx) {
  const mgr = canManage(ctx);
  const people = await staff(ctx);
  if (!ctx.alive()) return;
  let week = monday(ctx.params.week ? new Date(ctx.params.week + "T00:00:00") : new Date());
  if (isNaN(week)) week = monday(new Date());
  let cursor = null, shifts = [], seq = 0;
  const start = new Date(); start.setHours(8, 0, 0, 0);
  const end = new Date(start); end.setHours(20);
  mount(box, html`<div class="row between"><form id="week-form" class="filters" novalidate>
      <button type="button" class="secondary" data-week="-1" aria-label="${t("set.ros.prev")}">‹ ${t("set.ros.prev")}</button>
      <label class="check">${t("set.ros.week")} <input type="date" name="week"></label>
      <button type="button" class="secondary" data-week="1" aria-label="${t("set.ros.next")}">${t("set.ros.next")} ›</button>
      <button type="button" class="secondary" data-week="0">${t("set.ros.this")}</button></form>
      <span class="muted small" id="week-range"></span></div>
    <div class="grid2 roster">
      <section class="panel"><h3>${t("set.ros.gaps")}</h3><div id="gaps" aria-live="polite"></div></section>
      ${mgr ? html`<section class="panel"><h3>${t("set.ros.new")}</h3>
        <form id="shift-form" class="form" novalidate>
          <div class="row"><label class="stack"><span>${t("set.ros.post")}</span><input name="post" list="post-list" autocomplete="off" value="front_desk"></label>
            <datalist id="post-list">${POSTS.map((p) => html`<option value="${p}">${postName(p)}</option>`)}</datalist>
            <label class="stack grow"><span>${t("set.ros.user")}</span><select name="user_id"><option value=""></option>
              ${["agent", "technician", "manager", "admin"].map((r) => { const us = people.filter((u) => u.role === r);
                return us.length ? html`<optgroup label="${tv("role", r)}">${us.map((u) => html`<option value="${u.id}">${u.username}</option>`)}</optgroup>` : ""; })}
              </select></label></div>
          <div class="row"><label class="stack"><span>${t("set.ros.starts")}</span><input type="datetime-local" name="starts_at" value="${localInput(start)}"></label>
            <label class="stack"><span>${t("set.ros.ends")}</span><input type="datetime-local" name="ends_at" value="${localInput(end)}"></label>
            <label class="check"><input type="checkbox" name="key_post" checked> ${t("set.ros.key")}</label></div>
          <p class="form-error" role="alert"></p>
          <div class="row"><button class="primary">${t("set.ros.create")}</button><span class="ok" id="shift-done" role="status"></span></div></form></section>`
        : html`<section class="panel"><p class="muted">${t("set.ros.readonly")}</p></section>`}
    </div>
    <section class="panel"><h3>${t("set.ros.list")} <span class="count" id="shift-count"></span></h3>
      <table class="grid" id="shifts"><thead><tr><th>${t("set.ros.post")}</th><th>${t("set.ros.user")}</th><th>${t("set.ros.when")}</th>
        <th>${t("set.ros.hours")}</th><th></th></tr></thead><tbody></tbody></table>
      <div class="row"><button type="button" class="secondary" id="shift-more" hidden>${t("more")}</button></div></section>`);
  const wf = $("#week-form", box), form = $("#shift-form", box), more = $("#shift-more", box);
  const range = () => { const to = new Date(week); to.setDate(to.getDate() + 7); return { from: week.toISOString(), to: to.toISOString() }; };

  async function loadShifts(append) {
    const mine = seq;
    const r = await api("GET", P(ctx) + "/duty-shifts" + qs(Object.assign(range(), { limit: 100, cursor: append ? cursor : "" })));
    if (!ctx.alive() || mine !== seq) return;
    shifts = append ? shifts.concat(r.items) : r.items;
    cursor = r.next_cursor;
    more.hidden = !cursor;
    $("#shift-count", box).textContent = shifts.length ? String(shifts.length) + (cursor ? "+" : "") : "";
    mount($("#shifts tbody", box), shifts.length ? html`${shifts.map((s) => html`<tr data-shift="${s.id}">
      <td>${postName(s.post)} ${s.key_post ? html`<span class="st st-key">${t("set.ros.key_short")}</span>` : ""}</td>
      <td>${who(s.user_id, people, ctx.me)}</td><td>${span(s.starts_at, s.ends_at)}</td>
      <td>${duration(new Date(s.ends_at) - new Date(s.starts_at))}</td>
      <td>${mgr ? html`<button type="button" class="link danger" data-del-shift="${s.id}">${t("set.remove")}</button>` : ""}</td></tr>`)}`
      : html`<tr><td colspan="5" class="empty">${t("set.ros.none")}</td></tr>`);
  }
  async function loadGaps() {
    const mine = seq;
    const r = await api("GET", P(ctx) + "/duty-roster/gaps" + qs(range())).catch((e) => ({ error: e }));
    if (!ctx.alive() || mine !== seq) return;
    const g = $("#gaps", box);
    if (r.error) { mount(g, html`<p class="form-error">${errText(r.error)}</p>`); return; }
    if (!r.posts.length) { mount(g, html`<p class="muted">${t("set.ros.no_key")}</p>`); return; }
    mount(g, html`${r.posts.map((p) => html`<div class="gap-post" data-gap-post="${p.post}">
      <p><b>${postName(p.post)}</b> ${p.gaps.length ? html`<span class="st st-escalated">${t("set.ros.uncovered", { d: duration(p.uncovered_minutes * 60000) })}</span>`
        : html`<span class="st st-resolved">${t("set.ros.covered")}</span>`}</p>
      ${p.gaps.length ? html`<ul class="gaps">${p.gaps.slice(0, 12).map((x) => html`<li>${span(x.from, x.to)}
        <span class="muted small">${duration(x.minutes * 60000)}</span></li>`)}
        ${p.gaps.length > 12 ? html`<li class="muted">${t("set.ros.more_gaps", { n: p.gaps.length - 12 })}</li>` : ""}</ul>` : ""}</div>`)}`);
  }
  async function load() {
    seq++;   // a week chosen while the last one loads: only its answers are shown
    wf.week.value = ymd(week);
    const r = range();
    $("#week-range", box).textContent = `${dt(r.from).slice(0, 10)} – ${dt(new Date(new Date(r.to) - 1).toISOString()).slice(0, 10)}`;
    await Promise.all([loadShifts(false), loadGaps()]);
  }
  wf.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-week]");
    if (!b) return;
    const n = Number(b.dataset.week);
    if (n === 0) week = monday(new Date()); else week.setDate(week.getDate() + 7 * n);
    load();
  });
  wf.week.addEventListener("change", () => { if (wf.week.value) { week = monday(new Date(wf.week.value + "T00:00:00")); load(); } });
  wf.addEventListener("submit", (ev) => ev.preventDefault());
  more.addEventListener("click", () => loadShifts(true));
  if (form) {
    onSubmit(form, async () => {
      clearErrors(form);
      const b = { post: form.post.value.trim(), user_id: form.user_id.value, key_post: form.key_post.checked };
      for (const f of ["starts_at", "ends_at"]) { const v = form[f].value; b[f] = v ? new Date(v).toISOString() : ""; }
      if (!b.user_id) return fieldError(form, "user_id", "is required");
      try {
        const s = await api("POST", P(ctx) + "/duty-shifts", b);
        $("#shift-done", box).textContent = t("set.ros.created", { post: postName(s.post), who: who(s.user_id, people, ctx.me) });
        week = monday(new Date(s.starts_at));
        await load();
      } catch (e) { showErrors(form, e); }
    });
    box.addEventListener("click", async (ev) => {
      const b = ev.target.closest("[data-del-shift]");
      if (!b || !confirm(t("set.ros.delete.confirm"))) return;
      try { await api("DELETE", P(ctx) + "/duty-shifts/" + b.dataset.delShift); await load(); }
      catch (e) { $("#shift-done", box).textContent = errText(e); }
    });
  }
  await load();
}

/* ---------------------------------------------------------------- FAQ upkeep */
const tagsOf = (s) => s.split(/[\s,，、;；]+/).map((x) => x.trim()).filter(Boolean);

async function faq(box, ctx) {
  const mgr = canManage(ctx);
  let items = [];
  mount(box, html`<div class="${mgr ? "grid2 faq-setup" : ""}">
    <section class="panel"><form id="faq-filter" class="filters" role="search">
        <input name="q" data-search autocomplete="off" placeholder="${t("set.faq.q")}" aria-label="${t("set.faq.q")}">
        <span class="muted small" id="faq-what"></span></form>
      <table class="grid" id="faq-list"><thead><tr><th>${t("set.faq.question")}</th><th>${t("set.faq.tags")}</th>
        <th class="num">${t("set.faq.hits")}</th><th>${t("set.faq.updated")}</th></tr></thead><tbody></tbody></table></section>
    ${mgr ? html`<section class="panel"><h3 id="faq-form-title">${t("set.faq.new")}</h3>
      <form id="faq-form" class="form" novalidate><input type="hidden" name="id">
        <label class="stack"><span>${t("set.faq.question")}</span><input name="question" maxlength="2000" autocomplete="off"></label>
        <label class="stack"><span>${t("set.faq.answer")}</span><textarea name="answer" rows="6"></textarea></label>
        <label class="stack"><span>${t("set.faq.tags")}</span><input name="tags" autocomplete="off" placeholder="${t("set.faq.tags.ph")}"></label>
        <p class="form-error" role="alert"></p>
        <div class="row"><button class="primary" id="faq-submit">${t("set.faq.create")}</button>
          <button type="button" class="secondary" id="faq-reset">${t("set.faq.new")}</button>
          <span class="ok" id="faq-done" role="status"></span></div>
        <p class="muted small">${t("set.faq.no_delete")}</p></form></section>` : ""}
  </div>`);
  const filter = $("#faq-filter", box), form = $("#faq-form", box);
  async function load() {
    const q = filter.q.value.trim();
    const r = await api("GET", P(ctx) + "/faq" + qs({ q, limit: 100 }));
    if (!ctx.alive() || filter.q.value.trim() !== q) return;
    items = r.items;
    $("#faq-what", box).textContent = q ? t("set.faq.found", { n: items.length }) : t("set.faq.top", { n: items.length });
    mount($("#faq-list tbody", box), items.length ? html`${items.map((f) => html`<tr data-faq="${f.id}" class="${mgr ? "pick" : ""}">
      <td><b>${f.question}</b><p class="faq-answer">${f.answer}</p></td>
      <td>${(f.tags || []).map((x) => html`<span class="st">${x}</span> `)}</td><td class="num">${f.hits}</td>
      <td class="small">${shortDt(f.updated_at)} ${mgr ? html`<button type="button" class="secondary small-btn" data-faq-edit="${f.id}">${t("set.edit")}</button>` : ""}</td></tr>`)}`
      : html`<tr><td colspan="4" class="empty">${t("set.faq.none")}</td></tr>`);
  }
  function edit(f) {
    clearErrors(form);
    form.id.value = f ? f.id : "";
    form.question.value = f ? f.question : "";
    form.answer.value = f ? f.answer : "";
    form.tags.value = f ? (f.tags || []).join(" ") : "";
    $("#faq-form-title", box).textContent = f ? t("set.faq.edit") : t("set.faq.new");
    $("#faq-submit", box).textContent = f ? t("save") : t("set.faq.create");
    form.question.focus();
  }
  filter.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  filter.q.addEventListener("input", debounce(load, 300));
  if (form) {
    box.addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-faq-edit]");
      if (b) { edit(items.find((x) => x.id === b.dataset.faqEdit)); $("#faq-done", box).textContent = ""; }
    });
    $("#faq-reset", box).addEventListener("click", () => { edit(null); $("#faq-done", box).textContent = ""; });
    onSubmit(form, async () => {
      clearErrors(form);
      const id = form.id.value;
      const b = { question: form.question.value.trim(), answer: form.answer.value.trim(), tags: tagsOf(form.tags.value) };
      try {
        const f = await api(id ? "PATCH" : "POST", P(ctx) + "/faq" + (id ? "/" + id : ""), b);
        edit(null);
        $("#faq-done", box).textContent = t(id ? "set.faq.saved" : "set.faq.created", { q: f.question });
        filter.q.value = f.question;
        await load();
      } catch (e) { showErrors(form, e); }
    });
  }
  await load();
}

/* ---------------------------------------------------------------- move-in checklist and desk settings */
async function moveIn(box, ctx) {
  const mgr = canManage(ctx);
  const [cl, desk] = await Promise.all([api("GET", P(ctx) + "/move-in-checklist"),
    mgr ? api("GET", P(ctx) + "/desk-settings").catch(() => null) : null]);
  if (!ctx.alive()) return;
  let people = [];
  if (cl.updated_by) people = await staff(ctx);
  mount(box, html`<div class="grid2 movein-setup">
    <section class="panel"><h3>${t("set.mi.title")}</h3><p class="muted small" id="mi-source"></p>
      <form id="mi-form" class="form" novalidate>
        <table class="grid" id="mi-items"><thead><tr><th>${t("set.mi.item")}</th><th>${t("set.mi.zh")}</th><th>${t("set.mi.en")}</th>
          <th>${t("set.mi.required")}</th><th>${t("set.mi.kind")}</th><th></th></tr></thead><tbody></tbody></table>
        ${mgr ? html`<p class="form-error" role="alert"></p><div class="row">
          <button type="button" class="secondary small-btn" id="mi-add">${t("set.mi.add")}</button>
          <button class="primary">${t("set.mi.save")}</button><span class="ok" id="mi-done" role="status"></span></div>
          <p class="muted small">${t("set.mi.hint")}</p>` : ""}</form></section>
    ${mgr ? html`<section class="panel"><h3>${t("set.desk.title")}</h3>
      <form id="desk-form" class="form" novalidate>
        <label class="stack"><span>${t("set.desk.retention")}</span>
          <input type="number" name="visitor_retention_days" min="1" max="3650" step="1" value="${desk ? desk.visitor_retention_days : ""}"></label>
        <p class="muted small">${t("set.desk.retention.hint")}</p>
        <p class="form-error" role="alert"></p>
        <div class="row"><button class="primary">${t("save")}</button><span class="ok" id="desk-done" role="status"></span></div></form></section>` : ""}
  </div>`);
  const form = $("#mi-form", box);
  function source(c) {
    $("#mi-source", box).textContent = c.customized
      ? t("set.mi.custom", { who: who(c.updated_by, people, ctx.me), at: dt(c.updated_at) }) : t("set.mi.default");
  }
  function row(it, i) {
    if (!mgr) return html`<tr><td class="number">${it.item}</td><td>${it.label.zh}</td><td>${it.label.en || ""}</td>
      <td>${it.required ? t("yes") : t("no")}</td><td>${t("set.mi.kind." + it.value_kind)}</td><td></td></tr>`;
    return html`<tr data-mi="${i}"><td><input name="items[${i}].item" value="${it.item}" class="key-input" autocomplete="off" aria-label="${t("set.mi.item")}"></td>
      <td><input name="items[${i}].label.zh" value="${it.label.zh}" maxlength="100" autocomplete="off" aria-label="${t("set.mi.zh")}"></td>
      <td><input name="items[${i}].label.en" value="${it.label.en || ""}" maxlength="100" autocomplete="off" aria-label="${t("set.mi.en")}"></td>
      <td><input type="checkbox" name="items[${i}].required" ${it.required ? "checked" : ""} aria-label="${t("set.mi.required")}"></td>
      <td><select name="items[${i}].value_kind" aria-label="${t("set.mi.kind")}">${VALUE_KINDS.map((k) => html`
        <option value="${k}" ${k === it.value_kind ? "selected" : ""}>${t("set.mi.kind." + k)}</option>`)}</select></td>
      <td class="nowrap"><button type="button" class="link" data-mi-up="${i}" aria-label="${t("set.up")}" ${i ? "" : "disabled"}>↑</button>
        <button type="button" class="link danger" data-mi-del="${i}" aria-label="${t("set.remove")}">✕</button></td></tr>`;
  }
  const render = (items) => mount($("#mi-items tbody", box), html`${items.map(row)}`);
  function read() {
    return $$("#mi-items tbody tr", box).map((tr, i) => {
      const v = (f) => form[`items[${i}].${f}`];
      return { item: v("item").value.trim(), label: { zh: v("label.zh").value.trim(), en: v("label.en").value.trim() },
        required: v("required").checked, value_kind: v("value_kind").value };
    });
  }
  source(cl);
  render(cl.items);
  if (!mgr) return;
  form.addEventListener("click", (ev) => {
    const add = ev.target.closest("#mi-add"), up = ev.target.closest("[data-mi-up]"), del = ev.target.closest("[data-mi-del]");
    if (!add && !up && !del) return;
    const items = read();
    if (add) items.push({ item: "", label: { zh: "", en: "" }, required: false, value_kind: "none" });
    if (up) { const i = Number(up.dataset.miUp); [items[i - 1], items[i]] = [items[i], items[i - 1]]; }
    if (del) items.splice(Number(del.dataset.miDel), 1);
    render(items);
    if (add) form[`items[${items.length - 1}].item`].focus();
  });
  onSubmit(form, async () => {
    clearErrors(form);
    const items = read().map((x) => { const o = Object.assign({}, x, { label: { zh: x.label.zh } }); if (x.label.en) o.label.en = x.label.en; return o; });
    try {
      const c = await api("PUT", P(ctx) + "/move-in-checklist", { items });
      if (!ctx.alive()) return;
      if (!people.length) people = await staff(ctx);
      source(c);
      render(c.items);
      $("#mi-done", box).textContent = t("set.mi.saved", { n: c.items.length });
    } catch (e) { showErrors(form, renamed(e, (f) => f.replace(/^(items\[\d+\]\.label)$/, "$1.zh"))); }
  });
  const df = $("#desk-form", box);
  onSubmit(df, async () => {
    clearErrors(df);
    const s = df.visitor_retention_days.value.trim();
    try {
      const r = await api("PUT", P(ctx) + "/desk-settings", { visitor_retention_days: /^\d+$/.test(s) ? Number(s) : s });
      df.visitor_retention_days.value = r.visitor_retention_days;
      $("#desk-done", box).textContent = t("set.desk.saved", { n: r.visitor_retention_days });
    } catch (e) { showErrors(df, e); }
  });
}

/* ---------------------------------------------------------------- notification log */
async function log(box, ctx) {
  const people = await staff(ctx);
  if (!ctx.alive()) return;
  let cursor = null, rows = [], seq = 0;
  mount(box, html`<form id="log-filter" class="filters" novalidate>
      <select name="status" aria-label="${t("set.log.status")}"><option value="">${t("set.log.status")}: ${t("all")}</option>
        ${LOG_STATUSES.map((s) => html`<option value="${s}">${tv("nst", s)}</option>`)}</select>
      <select name="channel" aria-label="${t("set.log.channel")}"><option value="">${t("set.log.channel")}: ${t("all")}</option>
        ${LOG_CHANNELS.map((s) => html`<option value="${s}">${tv("nch", s)}</option>`)}</select>
      <input name="event_type" list="log-events" autocomplete="off" placeholder="${t("set.log.event")}" aria-label="${t("set.log.event")}">
      <datalist id="log-events">${LOG_EVENTS.map((e) => html`<option value="${e}">${tv("evt", e)}</option>`)}</datalist>
      <label class="check">${t("set.log.since")} <input type="date" name="since"></label>
      <button class="secondary">${t("search")}</button></form>
    <div class="stats" id="log-summary"></div>
    <table class="grid" id="log-list"><thead><tr><th>${t("set.log.at")}</th><th>${t("set.log.channel")}</th><th>${t("set.log.status")}</th>
      <th>${t("set.log.event")}</th><th>${t("set.log.to")}</th><th>${t("set.log.title")}</th><th class="num">${t("set.log.attempts")}</th>
      <th>${t("set.log.error")}</th><th>${t("set.log.sent")}</th></tr></thead><tbody></tbody></table>
    <div class="row"><button type="button" class="secondary" id="log-more" hidden>${t("more")}</button><span class="muted small" id="log-shown"></span></div>`);
  const f = $("#log-filter", box), more = $("#log-more", box);
  const to = (r) => {
    const x = r.recipient || {};
    const name = x.kind === "party" ? x.name || "—" : x.kind === "role" ? tv("role", x.id) : who(x.id, people, ctx.me);
    return html`${name}${r.address ? html` <span class="muted small phone">${r.address}</span>` : ""}`;
  };
  async function load(append) {
    const params = { status: f.status.value, channel: f.channel.value, event_type: f.event_type.value.trim(), since: f.since.value,
      limit: LOG_PAGE, cursor: append ? cursor : "" };
    const mine = ++seq;   // the answer to the latest filter wins, not the slowest
    let r;
    try { r = await api("GET", P(ctx) + "/notification-log" + qs(params)); }
    catch (e) { if (mine === seq) showErrors(f, e); return; }
    if (!ctx.alive() || mine !== seq) return;
    clearErrors(f);
    rows = append ? rows.concat(r.items) : r.items;
    cursor = r.next_cursor;
    more.hidden = !cursor;
    if (r.summary && !append) {
      const by = r.summary.by_channel || {};
      mount($("#log-summary", box), html`<div class="stat"><span>${t("set.log.total")}</span><b id="log-total">${r.summary.total}</b></div>
        ${Object.keys(by).map((ch) => html`<div class="stat" data-log-channel="${ch}"><span>${tv("nch", ch)}</span>
          <b>${Object.values(by[ch]).reduce((a, b) => a + b, 0)}</b>
          <span class="small">${Object.entries(by[ch]).map(([s, n]) => `${tv("nst", s)} ${n}`).join(" · ")}</span></div>`)}`);
    }
    $("#log-shown", box).textContent = t("set.log.shown", { n: rows.length });
    mount($("#log-list tbody", box), rows.length ? html`${rows.map((x) => html`<tr data-log="${x.id}">
      <td class="nowrap">${shortDt(x.created_at)}</td><td>${tv("nch", x.channel)}</td>
      <td><span class="st st-n-${x.status}">${tv("nst", x.status)}</span></td>
      <td>${tv("evt", x.event_type)}</td><td>${to(x)}</td><td class="ellipsis" title="${x.title || ""}">${x.title || "—"}</td>
      <td class="num">${x.attempts}</td><td class="ellipsis small" title="${x.last_error || ""}">${x.last_error || ""}</td>
      <td class="nowrap">${shortDt(x.sent_at)}</td></tr>`)}`
      : html`<tr><td colspan="9" class="empty">${t("set.log.none")}</td></tr>`);
  }
  onSubmit(f, () => load(false));
  f.addEventListener("change", (ev) => { if (ev.target.tagName === "SELECT" || ev.target.type === "date") load(false); });
  more.addEventListener("click", () => load(true));
  await load(false);
}
