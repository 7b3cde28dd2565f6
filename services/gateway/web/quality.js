// quality: service quality (服务质量, issue L) for the customer-service
// manager: the contractors and their inspections on weighted criteria (监管评定:
// the score live as the API computes it, the rectification ticket a low score
// opened, the month's report, a contractor's 12-month trend), typical cases
// (典型案例: search, a case's page, turned into an FAQ entry), per-person
// performance (绩效) and the satisfaction index (满意指数). One tab each
// (#/quality?tab=). Admins and managers write; an agent reads the lists and
// sees only their own performance row (the API answers only that row).
// Charts are inline SVG (no library; the CSP allows no inline style, so bars
// are SVG rects with attributes).
import { t, tv } from "./i18n.js";
import { api, qs, html, mount, onSubmit, $, $$, showErrors, clearErrors, fieldError, errText, dt, shortDt, ymd, period } from "./lib.js";

const P = (ctx) => `/v1/properties/${ctx.pid}`;
const canManage = (ctx) => ctx.me.role === "admin" || ctx.me.role === "manager";
export const SERVICES = ["cleaning", "greening", "pest_control", "security", "other"];
const TABS = [{ k: "contractors", view: contractors }, { k: "cases", view: cases }, { k: "performance", view: performance },
  { k: "satisfaction", view: satisfaction }];
const pad = (n) => String(n).padStart(2, "0");
function debounce(fn, ms) { let h = 0; return (...a) => { clearTimeout(h); h = setTimeout(() => fn(...a), ms); }; }
// "2026-12-01T09:30" typed in the browser's zone -> RFC 3339 with its offset
function rfc3339(local) {
  const d = new Date(local);
  if (!local || isNaN(d)) return local || "";
  const off = -d.getTimezoneOffset(), s = off < 0 ? "-" : "+", a = Math.abs(off);
  return `${ymd(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}:00${s}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}
const localInput = (d) => `${ymd(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
const one = (v) => (v === null || v === undefined ? "—" : Number(v).toFixed(1));
const share = (v) => (v === null || v === undefined ? "—" : (Math.round(Number(v) * 1000) / 10).toFixed(1) + "%");

export async function quality(el, ctx) {
  const tab = TABS.find((x) => x.k === ctx.params.tab) || TABS[0];
  mount(el, html`<h1 class="title">${t("nav.quality")}</h1>
    <nav class="tabs" role="tablist">${TABS.map((x) => html`<a href="#/quality?tab=${x.k}" role="tab" id="tab-${x.k}"
      aria-selected="${x === tab ? "true" : "false"}" class="${x === tab ? "active" : ""}">${t("q.tab." + x.k)}</a>`)}</nav>
    <div id="q-body"></div>`);
  await tab.view($("#q-body", el), ctx);
}

/* ---------------------------------------------------------------- the score */
// A score (0..100, one decimal) in tenths, a weight (above 0, two decimals) in
// hundredths: null when the text is not one.
export function scoreX10(s) {
  const m = /^\s*(\d{1,3})(?:\.(\d))?\s*$/.exec(String(s));
  if (!m) return null;
  const v = parseInt(m[1], 10) * 10 + parseInt(m[2] || "0", 10);
  return v <= 1000 ? v : null;
}
export function weightX100(s) {
  const m = /^\s*(\d{1,4})(?:\.(\d{1,2}))?\s*$/.exec(String(s));
  if (!m) return null;
  const v = parseInt(m[1], 10) * 100 + parseInt((m[2] || "0").padEnd(2, "0"), 10);
  return v > 0 && v <= 100000 ? v : null;
}
// The weighted mean in tenths exactly as the tickets service computes it
// (contractor_rules.h): integers, num / den rounded half away from zero.
// null while a row is not a valid criterion or there is none.
export function weightedScoreX10(rows) {
  let num = 0, den = 0;
  for (const r of rows) {
    const w = weightX100(r.weight), s = scoreX10(r.score);
    if (w === null || s === null) return null;
    num += w * s; den += w;
  }
  if (!rows.length || den <= 0) return null;
  const q = Math.floor(num / den), rest = num - q * den;
  return 2 * rest >= den ? q + 1 : q;
}
const tenths = (x10) => (x10 === null ? "—" : (x10 / 10).toFixed(1));

/* ---------------------------------------------------------------- a line chart */
// points: [{label, key: value|null}]; a null is a gap (the line breaks there).
// series: [{key, cls, label, max, fmt}]: each on its own scale 0..max (two
// scales: the left axis is the first series', the right the second's).
export function lineChart(id, points, series, { width = 620, height = 190 } = {}) {
  const W = width, H = height, L = 40, R = series.length > 1 ? 44 : 14, B = 22, T = 10;
  const step = (W - L - R) / Math.max(points.length - 1, 1);
  const x = (i) => L + i * step;
  const y = (v, s) => H - B - (Math.min(Math.max(v, 0), s.max) / s.max) * (H - B - T);
  const s0 = series[0], s1 = series[1];
  return html`<svg class="chart" id="${id}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${series.map((s) => s.label).join(" / ")}">
    ${[0, 0.5, 1].map((f) => html`<line x1="${L}" x2="${W - R}" y1="${y(s0.max * f, s0)}" y2="${y(s0.max * f, s0)}" class="grid-line"></line>
      <text x="2" y="${y(s0.max * f, s0) + 4}" class="lbl">${s0.fmt(s0.max * f)}</text>
      ${s1 ? html`<text x="${W - R + 4}" y="${y(s1.max * f, s1) + 4}" class="lbl">${s1.fmt(s1.max * f)}</text>` : ""}`)}
    ${series.map((s) => {
      // runs of months with a value: one polyline each, so an empty month is a gap
      const runs = [];
      let cur = null;
      points.forEach((p, i) => {
        const v = p[s.key];
        if (v === null || v === undefined) { cur = null; return; }
        if (!cur) { cur = []; runs.push(cur); }
        cur.push([x(i), y(Number(v), s)]);
      });
      return html`${runs.filter((r) => r.length > 1).map((r) => html`<polyline class="line ${s.cls}" data-series="${s.key}"
          points="${r.map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" ")}"></polyline>`)}
        ${points.map((p, i) => (p[s.key] === null || p[s.key] === undefined ? "" : html`<circle cx="${x(i).toFixed(1)}"
          cy="${y(Number(p[s.key]), s).toFixed(1)}" r="3" class="dot ${s.cls}" data-series="${s.key}" data-period="${p.period}"
          data-v="${p[s.key]}"><title>${p.label} ${s.label} ${s.fmt(Number(p[s.key]))}</title></circle>`))}`;
    })}
    ${points.map((p, i) => html`<text x="${x(i)}" y="${H - 5}" class="lbl mid">${p.label}</text>`)}
  </svg><div class="legend">${series.map((s) => html`<span><i class="sw ${s.cls}"></i>${s.label}</span>`)}</div>`;
}
// A small bar of a share 0..1 (or a value over max) with its figure.
function miniBar(v, max, text, cls) {
  if (v === null || v === undefined) return html`<span class="muted">—</span>`;
  const w = Math.round((Math.min(Math.max(Number(v), 0), max) / max) * 60);
  return html`<span class="mini-bar"><svg viewBox="0 0 60 8" width="60" height="8" aria-hidden="true"><rect width="60" height="8" class="track"></rect>
    <rect width="${w}" height="8" class="fill ${cls}"></rect></svg> <span class="num">${text}</span></span>`;
}

/* ---------------------------------------------------------------- contractors */
function criterionRow(c, i, ro) {
  return html`<tr><td><input name="criteria[${i}].name" value="${c.name}" maxlength="100" autocomplete="off" aria-label="${t("q.crit.name")}" ${ro}></td>
    <td><input name="criteria[${i}].weight" value="${c.weight}" inputmode="decimal" size="5" autocomplete="off" aria-label="${t("q.crit.weight")}" ${ro}></td>
    <td><input name="criteria[${i}].score" value="${c.score}" inputmode="decimal" size="5" autocomplete="off" aria-label="${t("q.crit.score")}" ${ro}></td>
    <td><button type="button" class="link danger" data-del-crit="${i}" aria-label="${t("set.remove")}">✕</button></td></tr>`;
}
async function contractors(box, ctx) {
  const mgr = canManage(ctx);
  const now = new Date();
  let list = [], threshold = null;
  mount(box, html`<div class="grid2 quality-top">
    <section class="panel"><div class="row between"><h3>${t("q.con.list")}</h3>
      <select id="con-service" aria-label="${t("q.con.service")}"><option value="">${t("q.con.service")}: ${t("all")}</option>
        ${SERVICES.map((s) => html`<option value="${s}">${tv("svc", s)}</option>`)}</select></div>
      <table class="grid" id="con-list"><thead><tr><th>${t("q.con.name")}</th><th>${t("q.con.service")}</th><th>${t("q.con.contact")}</th>
        <th></th></tr></thead><tbody></tbody></table>
      ${mgr ? html`<h3 id="con-form-title">${t("q.con.new")}</h3><form id="con-form" class="form" novalidate>
        <div class="row"><label class="stack grow"><span>${t("q.con.name")}</span><input name="name" maxlength="100" autocomplete="off"></label>
          <label class="stack"><span>${t("q.con.service")}</span><select name="service">${SERVICES.map((s) => html`<option value="${s}">${tv("svc", s)}</option>`)}</select></label></div>
        <div class="row"><label class="stack grow"><span>${t("q.con.contact")}</span><input name="contact" maxlength="100" autocomplete="off"></label>
          <label class="stack"><span>${t("q.con.phone")}</span><input name="phone" autocomplete="off" inputmode="tel"></label>
          <label class="check" id="con-active-box" hidden><input type="checkbox" name="active" checked> ${t("q.con.active")}</label></div>
        <p class="form-error" role="alert"></p>
        <div class="row"><button class="primary" id="con-submit">${t("q.con.create")}</button>
          <button type="button" class="secondary" id="con-new" hidden>${t("q.con.new")}</button>
          <span class="ok" id="con-done" role="status"></span></div></form>` : ""}
    </section>
    <section class="panel">${mgr ? html`<div class="row between"><h3>${t("q.insp.new")}</h3><span class="muted small" id="insp-threshold"></span></div>
      <form id="insp-form" class="form" novalidate>
        <div class="row"><label class="stack grow"><span>${t("q.insp.contractor")}</span><select name="contractor_id"></select></label>
          <label class="stack grow"><span>${t("q.insp.area")}</span><input name="area" maxlength="100" autocomplete="off" placeholder="${t("q.insp.area.ph")}"></label>
          <label class="stack"><span>${t("q.insp.at")}</span><input type="datetime-local" name="inspected_at" value="${localInput(new Date(now.getTime() - 60000))}"></label></div>
        <table class="grid" id="insp-criteria"><thead><tr><th>${t("q.crit.name")}</th><th>${t("q.crit.weight")}</th><th>${t("q.crit.score")}</th><th></th></tr></thead>
          <tbody></tbody></table>
        <div class="row between"><button type="button" class="secondary small-btn" id="insp-add">${t("q.crit.add")}</button>
          <p class="live-score">${t("q.insp.score")} <b id="insp-score">—</b></p></div>
        <label class="stack"><span>${t("q.insp.note")}</span><input name="note" maxlength="2000" autocomplete="off"></label>
        <p class="form-error" role="alert"></p>
        <div class="row"><button class="primary">${t("q.insp.submit")}</button></div></form>
      <div id="insp-done" aria-live="polite"></div>` : html`<h3>${t("q.insp.new")}</h3><p class="muted">${t("q.readonly")}</p>`}
    </section></div>
  <div class="grid2">
    <section class="panel"><div class="row between"><h3>${t("q.rep.title")}</h3>
      <input type="month" id="con-period" value="${period(now)}" aria-label="${t("q.rep.period")}"></div>
      <table class="grid" id="con-report"><thead><tr><th>${t("q.con.name")}</th><th class="num">${t("q.rep.inspections")}</th>
        <th class="num">${t("q.rep.mean")}</th><th>${t("q.rep.lowest")}</th></tr></thead><tbody></tbody></table>
      <h3>${t("q.insp.list")}</h3>
      <table class="grid" id="insp-list"><thead><tr><th>${t("q.insp.at")}</th><th>${t("q.con.name")}</th><th>${t("q.insp.area")}</th>
        <th class="num">${t("q.insp.score")}</th><th>${t("q.insp.ticket")}</th></tr></thead><tbody></tbody></table></section>
    <section class="panel"><div class="row between"><h3>${t("q.trend.title")}</h3>
      <select id="trend-of" aria-label="${t("q.insp.contractor")}"></select></div>
      <div id="con-trend"><p class="muted">${t("q.trend.pick")}</p></div></section>
  </div>`);
  const form = $("#con-form", box), insp = $("#insp-form", box), per = $("#con-period", box), trendOf = $("#trend-of", box);

  async function loadList() {
    const r = await api("GET", P(ctx) + "/contractors" + qs({ service: $("#con-service", box).value, limit: 200 }));
    if (!ctx.alive()) return;
    list = r.items;
    mount($("#con-list tbody", box), list.length ? html`${list.map((c) => html`<tr data-con="${c.id}" class="${c.active ? "" : "inactive"}">
      <td>${c.name} ${c.active ? "" : html`<span class="st st-cancelled">${t("q.con.inactive")}</span>`}</td><td>${tv("svc", c.service)}</td>
      <td>${c.contact || ""} <span class="phone muted">${c.phone || ""}</span></td>
      <td class="nowrap">${mgr ? html`<button type="button" class="link" data-con-edit="${c.id}">${t("set.edit")}</button>` : ""}
        <button type="button" class="link" data-con-trend="${c.id}">${t("q.trend.go")}</button></td></tr>`)}`
      : html`<tr><td colspan="4" class="empty">${t("q.con.none")}</td></tr>`);
    const pick = (sel, only) => {
      const keep = sel.value;
      mount(sel, html`<option value="">${t("q.insp.pick")}</option>${list.filter((c) => !only || c.active).map((c) => html`
        <option value="${c.id}">${c.name} · ${tv("svc", c.service)}</option>`)}`);
      if (keep && list.some((c) => c.id === keep)) sel.value = keep;
    };
    if (insp) pick(insp.contractor_id, true);
    pick(trendOf, false);
    if (ctx.params.c && !trendOf.value && list.some((c) => c.id === ctx.params.c)) { trendOf.value = ctx.params.c; loadTrend(); }
  }
  async function loadReport() {
    const p = per.value || period(new Date());
    const [rep, li] = await Promise.all([
      api("GET", P(ctx) + "/reports/contractors" + qs({ period: p })),
      api("GET", P(ctx) + "/inspections" + qs({ period: p, limit: 50 })),
    ]).catch((e) => { mount($("#con-report tbody", box), html`<tr><td colspan="4" class="form-error">${errText(e)}</td></tr>`); return [null, null]; });
    if (!rep || !ctx.alive()) return;
    mount($("#con-report tbody", box), rep.items.length ? html`${rep.items.map((x) => html`<tr data-rep="${x.contractor_id}">
      <td>${x.name}</td><td class="num">${x.inspections}</td>
      <td class="num ${x.mean_score !== null && threshold !== null && x.mean_score < threshold ? "late" : ""}" data-mean>${one(x.mean_score)}</td>
      <td>${x.lowest_criterion ? html`${x.lowest_criterion.name} <span class="muted">${one(x.lowest_criterion.mean_score)}</span>` : "—"}</td></tr>`)}`
      : html`<tr><td colspan="4" class="empty">${t("none")}</td></tr>`);
    mount($("#insp-list tbody", box), li.items.length ? html`${li.items.map((i) => html`<tr data-insp="${i.id}">
      <td class="nowrap">${shortDt(i.inspected_at)}</td><td>${i.contractor_name}</td><td>${i.area}</td>
      <td class="num ${i.below_threshold ? "late" : ""}">${one(i.score)}</td>
      <td>${i.rectification_ticket_id ? html`<a href="#/tickets/${i.rectification_ticket_id}" class="number">${i.rectification_ticket_number || t("open")}</a>` : ""}</td></tr>`)}`
      : html`<tr><td colspan="5" class="empty">${t("none")}</td></tr>`);
  }
  async function loadTrend() {
    const id = trendOf.value, out = $("#con-trend", box);
    if (!id) { mount(out, html`<p class="muted">${t("q.trend.pick")}</p>`); return; }
    history.replaceState(null, "", "#/quality" + qs({ tab: "contractors", c: id }));
    let r;
    try { r = await api("GET", P(ctx) + `/contractors/${id}/trend` + qs({ months: 12 })); }
    catch (e) { mount(out, html`<p class="form-error">${errText(e)}</p>`); return; }
    if (!ctx.alive() || trendOf.value !== id) return;
    const pts = r.items.map((m) => ({ period: m.period, label: m.period.slice(2), score: m.mean_score }));
    const n = r.items.reduce((a, m) => a + m.inspections, 0);
    mount(out, html`${lineChart("trend-chart", pts, [{ key: "score", cls: "c0", label: t("q.rep.mean"), max: 100, fmt: (v) => Number(v).toFixed(0) }])}
      <p class="muted small" id="trend-count">${t("q.trend.count", { n, m: r.items.filter((m) => m.inspections).length })}</p>`);
  }

  // the inspection's criteria: rows read back from the inputs, re-rendered on add/remove
  function readCriteria() {
    return $$("#insp-criteria tbody tr", box).map((tr, i) => {
      const v = (f) => { const n = tr.querySelector(`[name="criteria[${i}].${f}"]`); return n ? n.value.trim() : ""; };
      return { name: v("name"), weight: v("weight"), score: v("score") };
    });
  }
  function renderCriteria(rows) {
    mount($("#insp-criteria tbody", box), html`${rows.map((c, i) => criterionRow(c, i, ""))}`);
    liveScore();
  }
  function liveScore() {
    const rows = readCriteria().filter((c) => c.name || c.weight || c.score);
    const x10 = weightedScoreX10(rows), b = $("#insp-score", box);
    b.textContent = tenths(x10);
    b.classList.toggle("late", x10 !== null && threshold !== null && x10 < threshold * 10);
  }
  if (insp) {
    renderCriteria([{ name: "", weight: "1", score: "" }, { name: "", weight: "1", score: "" }]);
    insp.addEventListener("input", (ev) => { if (/^criteria\[/.test(ev.target.name || "")) liveScore(); });
    insp.addEventListener("click", (ev) => {
      if (ev.target.closest("#insp-add")) {
        const rows = readCriteria();
        rows.push({ name: "", weight: "1", score: "" });
        renderCriteria(rows);
        $(`[name="criteria[${rows.length - 1}].name"]`, insp).focus();
      } else if (ev.target.closest("[data-del-crit]")) {
        const i = Number(ev.target.closest("[data-del-crit]").dataset.delCrit);
        renderCriteria(readCriteria().filter((c, k) => k !== i));
      }
    });
    onSubmit(insp, async () => {
      clearErrors(insp);
      if (!insp.contractor_id.value) return fieldError(insp, "contractor_id", "is required");
      const num = (s) => (s !== "" && !isNaN(Number(s)) ? Number(s) : s);
      const criteria = readCriteria().filter((c) => c.name || c.weight || c.score)
        .map((c) => ({ name: c.name, weight: num(c.weight), score: num(c.score) }));
      const b = { contractor_id: insp.contractor_id.value, area: insp.area.value.trim(), inspected_at: rfc3339(insp.inspected_at.value), criteria };
      if (insp.note.value.trim()) b.note = insp.note.value.trim();
      try {
        const r = await api("POST", P(ctx) + "/inspections", b);
        if (!ctx.alive()) return;
        mount($("#insp-done", box), html`<div class="verdict ${r.below_threshold ? "no" : "yes"}" id="insp-result">
          <b>${t("q.insp.scored", { s: one(r.score), th: one(r.threshold) })}</b>
          ${r.rectification_ticket_id ? html`<span>${t("q.insp.rect")} <a id="insp-ticket" class="number" href="#/tickets/${r.rectification_ticket_id}">${r.rectification_ticket_number || t("open")}</a></span>`
            : html`<span class="muted">${t("q.insp.passed")}</span>`}</div>`);
        insp.area.value = ""; insp.note.value = "";
        renderCriteria(readCriteria().map((c) => ({ name: c.name, weight: c.weight, score: "" })));
        per.value = r.period || per.value;
        await loadReport();
        if (trendOf.value === r.contractor_id) loadTrend();
      } catch (e) { showErrors(insp, e); }
    });
  }

  function openContractor(c) {
    clearErrors(form);
    form.dataset.id = c ? c.id : "";
    form.reset();
    $("#con-form-title", box).textContent = c ? t("q.con.edit", { name: c.name }) : t("q.con.new");
    $("#con-submit", box).textContent = c ? t("save") : t("q.con.create");
    $("#con-new", box).hidden = !c;
    $("#con-active-box", box).hidden = !c;
    form.service.disabled = !!c; // the service stays: its inspections were scored as that service
    if (c) {
      form.name.value = c.name; form.service.value = c.service; form.contact.value = c.contact || "";
      form.phone.value = c.phone || ""; form.phone.dataset.was = c.phone || ""; form.active.checked = c.active;
    }
    form.name.focus();
  }
  if (form) {
    onSubmit(form, async () => {
      clearErrors(form);
      const id = form.dataset.id;
      const b = { name: form.name.value.trim() };
      const contact = form.contact.value.trim(), phone = form.phone.value.trim();
      if (id) {
        b.contact = contact || null;
        if (phone !== (form.phone.dataset.was || "")) b.phone = phone || null;
        b.active = form.active.checked;
      } else {
        b.service = form.service.value;
        if (contact) b.contact = contact;
        if (phone) b.phone = phone;
      }
      try {
        const c = await api(id ? "PATCH" : "POST", P(ctx) + "/contractors" + (id ? "/" + id : ""), b);
        if (!ctx.alive()) return;
        openContractor(null);
        $("#con-done", box).textContent = t(id ? "set.saved" : "q.con.created", { name: c.name });
        await loadList();
        if (!id && insp) insp.contractor_id.value = c.id;
      } catch (e) { showErrors(form, e); }
    });
    $("#con-new", box).addEventListener("click", () => openContractor(null));
  }
  box.addEventListener("click", (ev) => {
    const e = ev.target.closest("[data-con-edit]"), tr = ev.target.closest("[data-con-trend]");
    if (e) openContractor(list.find((c) => c.id === e.dataset.conEdit));
    if (tr) { trendOf.value = tr.dataset.conTrend; loadTrend(); }
  });
  $("#con-service", box).addEventListener("change", loadList);
  per.addEventListener("change", loadReport);
  trendOf.addEventListener("change", loadTrend);
  const th = await api("GET", P(ctx) + "/contractor-settings").catch(() => null);
  if (th && th.threshold !== undefined) {
    threshold = Number(th.threshold);
    const n = $("#insp-threshold", box);
    if (n) n.textContent = t("q.insp.threshold", { th: one(threshold) });
  }
  await Promise.all([loadList(), loadReport()]);
}

/* ---------------------------------------------------------------- typical cases */
function tagList(tags) { return html`${(tags || []).map((g) => html`<span class="tag">${g}</span>`)}`; }
async function cases(box, ctx) {
  if (ctx.params.case) return casePage(box, ctx, ctx.params.case);
  const p = ctx.params;
  mount(box, html`<section class="panel"><form id="case-filter" class="filters" role="search">
      <input name="q" data-search value="${p.q || ""}" placeholder="${t("q.case.q")}" aria-label="${t("q.case.q")}">
      <input name="tag" value="${p.tag || ""}" placeholder="${t("q.case.tag")}" aria-label="${t("q.case.tag")}">
      <span class="muted small" id="case-what"></span></form>
    <table class="grid" id="case-list"><thead><tr><th>${t("tk.number")}</th><th>${t("q.case.summary")}</th><th>${t("q.case.tags")}</th>
      <th>${t("q.case.faq")}</th><th>${t("tk.created")}</th></tr></thead><tbody></tbody></table>
    <div class="row"><button type="button" class="secondary" id="case-more" hidden>${t("tk.next")}</button></div>
    ${canManage(ctx) ? html`<p class="muted small">${t("q.case.how")}</p>` : ""}</section>`);
  const f = $("#case-filter", box), tbody = $("#case-list tbody", box), more = $("#case-more", box);
  let cursor = null, seq = 0;
  async function load(append) {
    const my = ++seq, q = f.q.value.trim(), tag = f.tag.value.trim();
    history.replaceState(null, "", "#/quality" + qs({ tab: "cases", q, tag }));
    let r;
    try { r = await api("GET", P(ctx) + "/cases" + qs({ q, tag, limit: q ? 20 : 50, cursor: append ? cursor : undefined })); }
    catch (e) { mount(tbody, html`<tr><td colspan="5" class="form-error">${errText(e)}</td></tr>`); return; }
    if (!ctx.alive() || my !== seq) return;
    cursor = r.next_cursor;
    more.hidden = !cursor || !!q;
    $("#case-what", box).textContent = q ? t("set.faq.found", { n: r.items.length }) : "";
    const rows = r.items.map((c) => html`<tr data-case="${c.id}" tabindex="0">
      <td><a href="#/tickets/${c.ticket_id}" class="number">${c.ticket_number || ""}</a></td>
      <td><a href="#/quality?tab=cases&case=${c.id}" class="case-open">${c.summary}</a><p class="faq-answer">${c.lesson}</p></td>
      <td>${tagList(c.tags)}</td><td>${c.faq_id ? html`<span class="st st-resolved">${t("q.case.in_faq")}</span>` : ""}</td>
      <td class="nowrap">${shortDt(c.created_at)}</td></tr>`);
    if (append) tbody.insertAdjacentHTML("beforeend", html`${rows}`.s);
    else mount(tbody, rows.length ? html`${rows}` : html`<tr><td colspan="5" class="empty">${t("q.case.none")}</td></tr>`);
  }
  f.addEventListener("submit", (ev) => { ev.preventDefault(); load(false); });
  f.addEventListener("input", debounce(() => load(false), 300));
  more.addEventListener("click", () => load(true));
  tbody.addEventListener("keydown", (ev) => {
    const tr = ev.target.closest("tr[data-case]");
    if (tr && ev.key === "Enter") ctx.go("#/quality?tab=cases&case=" + tr.dataset.case);
  });
  await load(false);
}
async function casePage(box, ctx, id) {
  const c = await api("GET", P(ctx) + "/cases/" + id);
  if (!ctx.alive()) return;
  const mgr = canManage(ctx);
  mount(box, html`<section class="panel case-page" id="case-page">
    <div class="row between"><h2><a href="#/quality?tab=cases" class="link">${t("q.tab.cases")}</a> › <span id="case-summary">${c.summary}</span></h2>
      <a class="number" href="#/tickets/${c.ticket_id}" id="case-ticket">${c.ticket_number} · ${tv("type", c.ticket_type)}</a></div>
    <p class="muted">${c.ticket_title}</p>
    <h4>${t("q.case.lesson")}</h4><p class="desc" id="case-lesson">${c.lesson}</p>
    <p>${tagList(c.tags)}</p>
    <p class="muted small">${t("q.case.made", { at: dt(c.created_at) })}</p>
    <div id="case-faq-box">${c.faq_id ? html`<p class="ok" id="case-faq-done">${t("q.case.in_faq")} · <a href="#/setup?tab=faq">${t("set.tab.faq")}</a></p>`
      : mgr ? html`<form id="case-faq-form" class="form inline"><button class="primary" id="case-faq">${t("q.case.to_faq")}</button>
          <span class="muted small">${t("q.case.to_faq.hint")}</span><p class="form-error" role="alert"></p></form>` : ""}</div></section>`);
  const ff = $("#case-faq-form", box);
  if (ff) onSubmit(ff, async () => {
    clearErrors(ff);
    try {
      const r = await api("POST", P(ctx) + `/cases/${id}/faq`, undefined);
      if (!ctx.alive()) return;
      mount($("#case-faq-box", box), html`<p class="ok" id="case-faq-done" data-faq="${r.faq_id}">${t("q.case.faq_made", { q: r.faq ? r.faq.question : c.summary })}
        · <a href="#/setup?tab=faq">${t("set.tab.faq")}</a></p>`);
    } catch (e) { showErrors(ff, e); }
  });
}

/* ---------------------------------------------------------------- performance */
const PERF_COLS = [
  { k: "username", num: false }, { k: "tickets_created", num: true }, { k: "tickets_resolved", num: true },
  { k: "first_response_minutes_median", num: true }, { k: "resolution_sla_met", num: true }, { k: "satisfaction_average", num: true },
  { k: "callbacks_done", num: true }, { k: "reopened", num: true },
];
export function sortRows(rows, key, desc) {
  return rows.slice().sort((a, b) => {
    const x = a[key], y = b[key];
    if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1; // nulls last, either way
    if (y === null || y === undefined) return -1;
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return desc ? -c : c;
  });
}
async function performance(box, ctx) {
  const today = new Date(), from = new Date(today.getTime() - 29 * 86400000);
  const p = ctx.params;
  const mgr = canManage(ctx);
  mount(box, html`<section class="panel"><form id="perf-form" class="form inline" novalidate>
      <label class="stack"><span>${t("q.from")}</span><input type="date" name="from" value="${p.from || ymd(from)}"></label>
      <label class="stack"><span>${t("q.to")}</span><input type="date" name="to" value="${p.to || ymd(today)}"></label>
      <button class="primary">${t("q.show")}</button><p class="form-error" role="alert"></p></form>
    ${mgr ? "" : html`<p class="muted small" id="perf-own">${t("q.perf.own")}</p>`}
    <table class="grid" id="perf-table"><thead><tr>${PERF_COLS.map((c) => html`<th class="${c.num ? "num" : ""}">
      <button type="button" class="sort" data-sort="${c.k}">${t("q.perf." + c.k)}</button></th>`)}</tr></thead><tbody></tbody></table>
    <p class="muted small">${t("q.perf.hint")}</p></section>`);
  const f = $("#perf-form", box);
  let rows = [], key = "tickets_resolved", desc = true;
  function render() {
    $$("[data-sort]", box).forEach((b) => { b.dataset.dir = b.dataset.sort === key ? (desc ? "desc" : "asc") : ""; });
    mount($("#perf-table tbody", box), rows.length ? html`${sortRows(rows, key, desc).map((r) => html`<tr data-user="${r.user_id}">
      <td>${r.username || r.user_id.slice(0, 8)} <span class="muted small">${tv("role", r.role)}</span></td>
      <td class="num" data-k="tickets_created">${r.tickets_created}</td><td class="num" data-k="tickets_resolved">${r.tickets_resolved}</td>
      <td class="num">${r.first_response_minutes_median === null ? "—" : one(r.first_response_minutes_median)}</td>
      <td class="num" data-k="resolution_sla_met">${miniBar(r.resolution_sla_met, 1, share(r.resolution_sla_met), "c2")}</td>
      <td class="num" data-k="satisfaction_average">${miniBar(r.satisfaction_average, 5, r.satisfaction_average === null ? "—" : Number(r.satisfaction_average).toFixed(2), "c1")}</td>
      <td class="num">${r.callbacks_done}</td><td class="num">${r.reopened}</td></tr>`)}`
      : html`<tr><td colspan="8" class="empty">${t("none")}</td></tr>`);
  }
  async function load() {
    clearErrors(f);
    history.replaceState(null, "", "#/quality" + qs({ tab: "performance", from: f.from.value, to: f.to.value }));
    try {
      const r = await api("GET", P(ctx) + "/reports/agents" + qs({ from: f.from.value, to: f.to.value }));
      if (!ctx.alive()) return;
      rows = r.items;
      render();
    } catch (e) { showErrors(f, e); }
  }
  $("#perf-table thead", box).addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-sort]");
    if (!b) return;
    if (key === b.dataset.sort) desc = !desc; else { key = b.dataset.sort; desc = key !== "username" && key !== "first_response_minutes_median" && key !== "reopened"; }
    render();
  });
  onSubmit(f, load);
  await load();
}

/* ---------------------------------------------------------------- satisfaction */
async function satisfaction(box, ctx) {
  const now = new Date();
  const p = ctx.params;
  mount(box, html`<section class="panel"><form id="sat-form" class="form inline" novalidate>
      <label class="stack"><span>${t("q.from")}</span><input type="month" name="from" value="${p.from || period(new Date(now.getFullYear(), now.getMonth() - 11, 1))}"></label>
      <label class="stack"><span>${t("q.to")}</span><input type="month" name="to" value="${p.to || period(now)}"></label>
      <button class="primary">${t("q.show")}</button><p class="form-error" role="alert"></p></form>
    <div id="sat-chart-box"></div></section>
    <section class="panel"><h3>${t("q.sat.months")}</h3>
      <table class="grid" id="sat-table"><thead><tr><th>${t("q.rep.period")}</th><th class="num">${t("q.sat.count")}</th><th class="num">${t("q.sat.mean")}</th>
        <th class="num">${t("q.sat.share")}</th><th>${t("q.sat.worst")}</th></tr></thead><tbody></tbody></table></section>`);
  const f = $("#sat-form", box);
  async function load() {
    clearErrors(f);
    history.replaceState(null, "", "#/quality" + qs({ tab: "satisfaction", from: f.from.value, to: f.to.value }));
    let r;
    try { r = await api("GET", P(ctx) + "/reports/satisfaction" + qs({ from: f.from.value, to: f.to.value })); }
    catch (e) { showErrors(f, e); return; }
    if (!ctx.alive()) return;
    const pts = r.items.map((m) => ({ period: m.period, label: m.period.slice(2), mean: m.mean, share: m.share_4_5 }));
    const total = r.items.reduce((a, m) => a + m.count, 0);
    mount($("#sat-chart-box", box), html`<div class="stats"><div class="stat"><span>${t("q.sat.count")}</span><b id="sat-total">${total}</b></div>
      <div class="stat"><span>${t("q.sat.months_rated")}</span><b>${r.items.filter((m) => m.count).length} / ${r.items.length}</b></div></div>
      ${lineChart("sat-chart", pts, [
        { key: "mean", cls: "c1", label: t("q.sat.mean"), max: 5, fmt: (v) => String(Math.round(Number(v) * 100) / 100) },
        { key: "share", cls: "c2", label: t("q.sat.share"), max: 1, fmt: (v) => Math.round(Number(v) * 100) + "%" }], { width: 1100, height: 230 })}`);
    mount($("#sat-table tbody", box), html`${r.items.slice().reverse().map((m) => html`<tr data-period="${m.period}" class="${m.count ? "" : "muted"}">
      <td>${m.period}</td><td class="num" data-k="count">${m.count}</td>
      <td class="num" data-k="mean">${miniBar(m.mean, 5, m.mean === null ? "—" : Number(m.mean).toFixed(2), "c1")}</td>
      <td class="num" data-k="share">${miniBar(m.share_4_5, 1, share(m.share_4_5), "c2")}</td>
      <td>${(m.worst_categories || []).map((w) => html`<span class="tag">${tv("cat", w.category)} ${Number(w.mean).toFixed(2)} <span class="muted">(${w.count})</span></span>`)}</td></tr>`)}`);
  }
  onSubmit(f, load);
  await load();
}
