// billing: the dashboard (工作台), billing (fee items, bill runs, collection
// with arrears by age, CSV export, payments import and reconciliation) and the
// reports with plain SVG charts (no library: a few rectangles and polylines).
import { t, tv } from "./i18n.js";
import { api, qs, html, mount, onSubmit, $, showErrors, clearErrors, fieldError, money, dt, shortDt, period, toFen, pct, errText, saveBlob } from "./lib.js";
import { isSoon, TYPES, slaCell, tick } from "./desk.js";

const P = (ctx) => `/v1/properties/${ctx.pid}`;
const USES = ["residential", "office", "retail", "hotel", "parking", "storage", "other"];
const OPEN = ["new", "accepted", "assigned", "in_progress", "on_hold", "approved"];
const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
const report = (ctx, from, to) => api("GET", P(ctx) + "/reports/service" + qs({ from: iso(from), to: iso(to) }));
const canManage = (ctx) => ctx.me.role === "admin" || ctx.me.role === "manager";
function rate(c) { return c && c.collection_rate !== null && c.collection_rate !== undefined ? (Number(c.collection_rate) * 100).toFixed(1) + "%" : "—"; }

/* ---------------------------------------------------------------- dashboard */
export async function dashboard(el, ctx) {
  mount(el, html`<div class="row between"><h1 class="title">${t("nav.dashboard")}</h1><span class="muted small" id="dash-updated"></span></div>
    <div class="tiles" id="dash-tiles"></div>
    <div class="grid2"><section class="panel"><h3>${t("dash.recent")}</h3><table class="grid"><tbody id="dash-recent"></tbody></table></section>
    <section class="panel"><h3>${t("dash.overdue_list")}</h3><table class="grid"><tbody id="dash-overdue"></tbody></table></section></div>`);
  async function load() {
    const now = new Date(), d0 = new Date(now); d0.setHours(0, 0, 0, 0);
    const m0 = new Date(now.getFullYear(), now.getMonth(), 1);
    // Open tickets: one list per open status (the service report covers at most a year).
    const openLists = Promise.all(OPEN.map((s) => api("GET", P(ctx) + "/tickets" + qs({ status: s, limit: 500 })).catch(() => null)));
    const [today, lists, overdue, latest, callbacks, month, coll] = await Promise.all([
      report(ctx, d0, now).catch(() => null),
      openLists,
      api("GET", P(ctx) + "/tickets" + qs({ overdue: "true", limit: 500 })).catch(() => null),
      api("GET", P(ctx) + "/tickets" + qs({ limit: 8 })).catch(() => null),
      api("GET", P(ctx) + "/tickets/callbacks" + qs({ limit: 500 })).catch(() => null),
      report(ctx, m0, now).catch(() => null),
      api("GET", P(ctx) + "/reports/collection" + qs({ period: period(now) })).catch(() => null),
    ]);
    if (!ctx.alive()) return false;
    const count = (r) => (r ? (r.next_cursor ? t("dash.capped", { n: r.items.length }) : r.items.length) : "—");
    const ok = lists.every(Boolean), capped = ok && lists.some((l) => l.next_cursor);
    const openItems = ok ? lists.flatMap((l) => l.items) : [];
    const open = ok ? (capped ? t("dash.capped", { n: openItems.length }) : openItems.length) : "—";
    const soon = ok ? openItems.filter((x) => isSoon(x, Date.now())).length : "—";
    const tiles = [
      { k: "dash.today_new", v: today ? today.total : "—", h: "#/tickets?today=1" },
      { k: "dash.open", v: open, h: "#/tickets?status=open" },
      { k: "dash.overdue", v: count(overdue), h: "#/tickets?overdue=true", cls: overdue && overdue.items.length ? "bad" : "" },
      { k: "dash.soon", v: soon, h: "#/tickets?soon=1", cls: soon > 0 ? "warn" : "" },
      { k: "dash.callbacks", v: count(callbacks), h: "#/tickets?view=callbacks" },
      { k: "dash.satisfaction", v: month && month.satisfaction_average !== null ? month.satisfaction_average.toFixed(2) : "—",
        sub: month && month.satisfied_share_pct !== null ? "4–5★ " + pct(month.satisfied_share_pct) : "", h: "#/reports" },
      { k: "dash.collection", v: rate(coll), sub: coll ? `${money(coll.collected)} / ${money(coll.billed)}` : "", h: "#/billing" },
    ];
    mount($("#dash-tiles", el), html`${tiles.map((x) => html`<a class="tile ${x.cls || ""}" href="${x.h}" data-tile="${x.k}">
      <span class="tile-label">${t(x.k)}</span><b class="tile-value">${x.v}</b>${x.sub ? html`<span class="tile-sub">${x.sub}</span>` : ""}</a>`)}`);
    const list = (items, last) => (items.length ? html`${items.map((x) => html`<tr><td><a class="number" href="#/tickets/${x.id}">${x.number}</a></td>
      <td class="ellipsis" title="${tv("type", x.type)} · ${x.title}">${x.title}</td><td>${x.unit_code || "—"}</td>
      <td><span class="st st-${x.status}">${tv("status", x.status)}</span></td><td>${last(x)}</td></tr>`)}`
      : html`<tr><td class="empty">${t("tk.empty")}</td></tr>`);
    mount($("#dash-recent", el), list(latest ? latest.items.slice(0, 8) : [], (x) => shortDt(x.created_at)));
    mount($("#dash-overdue", el), list(overdue ? overdue.items.slice(0, 8) : [], (x) => slaCell(x)));
    tick();
    $("#dash-updated", el).textContent = t("dash.updated", { time: dt(new Date().toISOString()).slice(11) });
    return true;
  }
  await load();
  const h = setInterval(async () => { if (!ctx.alive() || !(await load())) clearInterval(h); }, 60000);
}

/* ---------------------------------------------------------------- billing */
export async function billing(el, ctx) {
  const mgr = canManage(ctx);
  const cur = ctx.params.period || period(new Date());
  const [fi, runs] = await Promise.all([
    api("GET", P(ctx) + "/fee-items" + qs({ limit: 200 })),
    api("GET", P(ctx) + "/billing-runs" + qs({ limit: 6 })).catch(() => ({ items: [] })),
  ]);
  if (!ctx.alive()) return;
  mount(el, html`<h1 class="title">${t("b.title")}</h1>
  <div class="ticket">
    <div class="col">
      <section class="panel" id="coll"><div class="row between"><h3>${t("b.coll")}</h3>
        <form id="coll-form" class="inline"><input name="period" type="month" value="${cur}" aria-label="${t("b.run.period")}"></form></div>
        <div id="coll-body"></div>
        ${mgr ? html`<button type="button" class="secondary" id="export">${t("b.export")}</button> <span id="export-msg" class="muted"></span>` : ""}
      </section>
      <section class="panel"><h3>${t("b.dunning")}</h3><table class="grid" id="dunning"><thead><tr><th>${t("u.code")}</th>
        <th>${t("b.dun.contact")}</th><th class="num">${t("u.overdue")}</th><th class="num">${t("b.dun.days")}</th></tr></thead><tbody></tbody></table></section>
    </div>
    <div class="col">
      ${mgr ? html`<section class="panel"><h3>${t("b.run")}</h3>
        <form id="run-form" class="form inline" novalidate><label class="stack"><span>${t("b.run.period")}</span><input name="period" type="month" value="${cur}"></label>
          <button class="primary">${t("b.run.submit")}</button><p class="form-error" role="alert"></p></form>
        <p id="run-result" class="ok" role="status"></p>
        <table class="grid"><caption>${t("b.runs")}</caption><thead><tr><th>${t("b.run.period")}</th><th class="num">${t("b.run.bills")}</th>
          <th class="num">${t("u.amount")}</th><th>${t("tk.created")}</th></tr></thead><tbody>${runs.items.map((r) => html`<tr><td>${r.period}</td><td class="num">${r.bills_created}</td>
          <td class="num">${money(r.total_amount)}</td><td>${dt(r.created_at)}</td></tr>`)}</tbody></table></section>
      <section class="panel"><h3>${t("b.import")}</h3>
        <form id="imp-form" class="form" novalidate><label class="stack"><span>${t("b.import.file")}</span><input type="file" name="file" accept=".csv,text/csv"></label>
          <p class="form-error" role="alert"></p><button class="primary">${t("b.import.submit")}</button></form>
        <div id="imp-result"></div></section>` : ""}
      <section class="panel"><h3>${t("b.fee_items")}</h3>
        <table class="grid" id="fee-items"><thead><tr><th>${t("b.fi.code")}</th><th>${t("b.fi.name")}</th><th>${t("b.fi.basis")}</th><th class="num">${t("b.fi.price")}</th>
          <th>${t("b.fi.applies")}</th><th>${t("b.fi.from")}</th></tr></thead>
        <tbody>${fi.items.length ? fi.items.map((f) => html`<tr><td>${f.code}</td><td>${f.name}</td><td>${tv("basis", f.basis)}</td>
          <td class="num">${f.basis === "parking" ? "—" : money(f.unit_price)}</td><td>${(f.applies_to || []).map((u) => tv("use", u)).join("、")}</td>
          <td>${f.effective_from}${f.effective_to ? " – " + f.effective_to : ""}</td></tr>`) : html`<tr><td colspan="6" class="empty">${t("b.fi.none")}</td></tr>`}</tbody></table>
        ${mgr ? html`<details class="more"><summary>${t("b.fi.add")}</summary><form id="fi-form" class="form" novalidate>
          <div class="row"><label class="stack"><span>${t("b.fi.code")}</span><input name="code" required></label>
          <label class="stack grow"><span>${t("b.fi.name")}</span><input name="name" required></label>
          <label class="stack"><span>${t("b.fi.basis")}</span><select name="basis">${["per_area", "fixed", "parking"].map((b) => html`<option value="${b}">${tv("basis", b)}</option>`)}</select></label>
          <label class="stack"><span>${t("b.fi.price")}</span><input name="unit_price" inputmode="decimal"></label></div>
          <fieldset class="chips" name="applies_to"><legend>${t("b.fi.applies")}</legend>${USES.map((u) => html`<label class="chip"><input type="checkbox" name="applies_to" value="${u}"><span>${tv("use", u)}</span></label>`)}</fieldset>
          <p class="form-error" role="alert"></p><button class="primary">${t("save")}</button></form></details>` : ""}
      </section>
    </div>
  </div>`);

  async function loadColl() {
    const per = $("#coll-form", el).period.value;
    history.replaceState(null, "", "#/billing" + qs({ period: per }));
    let c;
    try { c = await api("GET", P(ctx) + "/reports/collection" + qs({ period: per })); }
    catch (e) { mount($("#coll-body", el), html`<p class="form-error">${errText(e)}</p>`); return; }
    if (!ctx.alive()) return;
    const ages = ["0_30", "31_90", "91_180", "over_180"];
    const max = Math.max(1, ...ages.map((a) => c.arrears_by_age[a] || 0));
    mount($("#coll-body", el), html`<div class="stats">
      <div class="stat"><span>${t("b.coll.billed")}</span><b>${money(c.billed)}</b></div>
      <div class="stat"><span>${t("b.coll.collected")}</span><b>${money(c.collected)}</b></div>
      <div class="stat"><span>${t("b.coll.rate")}</span><b id="coll-rate">${rate(c)}</b></div>
      <div class="stat ${c.outstanding > 0 ? "bad" : ""}"><span>${t("b.coll.outstanding")}</span><b>${money(c.outstanding)}</b></div></div>
      <h4>${t("b.coll.arrears")}</h4>
      <svg class="chart" viewBox="0 0 520 120" role="img" aria-label="${t("b.coll.arrears")}">
        ${ages.map((a, i) => { const v = c.arrears_by_age[a] || 0, w = Math.round((v / max) * 300); return html`
          <text x="0" y="${i * 28 + 18}" class="lbl">${t("b.age." + a)}</text>
          <rect x="110" y="${i * 28 + 5}" width="${Math.max(w, 1)}" height="18" class="bar age${i}"></rect>
          <text x="${118 + w}" y="${i * 28 + 18}" class="val">${money(v)}</text>`; })}
      </svg>`);
  }
  $("#coll-form", el).addEventListener("change", loadColl);
  await loadColl();
  api("GET", P(ctx) + "/reports/arrears" + qs({ limit: 12 })).then((r) => {
    if (!ctx.alive()) return;
    mount($("#dunning tbody", el), r.items.length ? html`${r.items.map((x) => html`<tr><td><a href="#/units/${x.unit_id}">${x.unit_code || "—"}</a></td>
      <td>${(x.contacts || []).slice(0, 1).map((c) => html`${c.name} <span class="phone muted">${(c.phones || [])[0] || ""}</span>`)}</td>
      <td class="num">${money(x.overdue_amount)}</td><td class="num">${x.days_overdue}</td></tr>`)}`
      : html`<tr><td colspan="4" class="empty">${t("none")}</td></tr>`);
  }).catch(() => { const d = $("#dunning", el); if (d) d.closest("section").hidden = true; });

  const ex = $("#export", el);
  // The token goes in a header, never in a URL: fetch the CSV and hand the
  // browser a blob to save.
  if (ex) ex.addEventListener("click", async () => {
    const per = $("#coll-form", el).period.value;
    try {
      const r = await api("GET", P(ctx) + "/exports/bills" + qs({ period: per, format: "csv" }), undefined, { raw: true });
      const blob = await r.blob();
      saveBlob(blob, `bills-${per}.csv`);
      $("#export-msg", el).textContent = `bills-${per}.csv · ${blob.size} B`;
    } catch (e) { $("#export-msg", el).textContent = errText(e); }
  });

  const ff = $("#fi-form", el);
  if (ff) onSubmit(ff, async (ev) => {
    ev.preventDefault();
    const fd = new FormData(ff);
    const price = fd.get("basis") === "parking" ? 0 : toFen(fd.get("unit_price"));
    if (price === null) return fieldError(ff, "unit_price", "money");
    try {
      await api("POST", P(ctx) + "/fee-items", { code: fd.get("code").trim(), name: fd.get("name").trim(), basis: fd.get("basis"), unit_price: price, applies_to: fd.getAll("applies_to") });
      billing(el, ctx);
    } catch (e) { showErrors(ff, e); }
  });
  const rf = $("#run-form", el);
  if (rf) onSubmit(rf, async (ev) => {
    ev.preventDefault();
    clearErrors(rf);
    const per = rf.period.value;
    if (!/^\d{4}-\d{2}$/.test(per)) return fieldError(rf, "period", "period");
    try {
      const r = await api("POST", P(ctx) + "/billing-runs", { period: per });
      $("#run-result", el).textContent = r.already_run ? t("b.run.again", { p: r.period }) : t("b.run.result", { p: r.period, n: r.bills_created, m: money(r.total_amount) });
      $("#coll-form", el).period.value = per;
      loadColl();
    } catch (e) { showErrors(rf, e); }
  });
  const imf = $("#imp-form", el);
  if (imf) onSubmit(imf, async (ev) => {
    ev.preventDefault();
    clearErrors(imf);
    const file = imf.file.files[0];
    if (!file) return fieldError(imf, "file", "is required");
    try {
      const r = await api("POST", P(ctx) + "/imports/payments", undefined, { csv: await file.text() });
      const rec = r.reconciliation || { matched: [], unmatched: [], duplicates: [] };
      const list = (k, rows) => html`<h4>${t("b.rec." + k)} (${rows.length})</h4>${rows.length ? html`<table class="grid"><tbody>${rows.slice(0, 50).map((x) => html`<tr>
        <td>${t("b.line")} ${x.line}</td><td>${x.unit_code || ""}</td><td>${x.external_ref || ""}</td><td class="num">${x.amount !== undefined ? money(x.amount) : ""}</td></tr>`)}</tbody></table>` : ""}`;
      mount($("#imp-result", el), html`<p class="ok" id="imp-summary">${t("b.import.result", { i: r.imported, d: r.duplicates, r: r.rejected })}</p>
        ${list("matched", rec.matched)}${list("unmatched", rec.unmatched)}${list("duplicates", rec.duplicates)}
        ${r.errors.length ? html`<h4>${t("b.errors")}</h4><table class="grid"><tbody>${r.errors.map((x) => html`<tr><td>${t("b.line")} ${x.line}</td><td>${x.problem}</td></tr>`)}</tbody></table>` : ""}`);
      loadColl();
    } catch (e) { showErrors(imf, e); }
  });
}

/* ---------------------------------------------------------------- reports */
const COLORS = { repair: "c0", complaint: "c1", inquiry: "c2", suggestion: "c3" };
function barsByType(days) {
  const W = 600, H = 200, L = 30, B = 20, n = days.length, bw = (W - L) / n;
  const max = Math.max(1, ...days.map((d) => Object.values(d.r ? d.r.by_type : {}).reduce((a, b) => a + b, 0)));
  const y = (v) => H - B - (v / max) * (H - B - 10);
  const bars = days.map((d, i) => {
    let acc = 0;
    const by = d.r ? d.r.by_type : {};
    return TYPES.filter((k) => by[k]).map((k) => {
      const y0 = y(acc), y1 = y(acc + by[k]); acc += by[k];
      return html`<rect x="${L + i * bw + 2}" y="${y1}" width="${bw - 4}" height="${Math.max(y0 - y1, 0)}" class="bar ${COLORS[k] || "c4"}"><title>${d.label} ${tv("type", k)} ${by[k]}</title></rect>`;
    });
  });
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img">
    <line x1="${L}" y1="${H - B}" x2="${W}" y2="${H - B}" class="axis"></line>
    <text x="0" y="14" class="lbl">${max}</text><text x="0" y="${H - B}" class="lbl">0</text>
    ${bars}${days.map((d, i) => (i % 2 === 0 ? html`<text x="${L + i * bw + bw / 2}" y="${H - 4}" class="lbl mid">${d.label}</text>` : ""))}
  </svg><div class="legend">${["repair", "complaint", "inquiry", "suggestion"].map((k) => html`<span><i class="sw ${COLORS[k]}"></i>${tv("type", k)}</span>`)}<span><i class="sw c4"></i>${tv("type", "other")}</span></div>`;
}
function lines(points, series, maxV, fmt) {
  const W = 600, H = 190, L = 36, B = 20, n = points.length, step = (W - L - 30) / Math.max(n - 1, 1);
  const y = (v) => H - B - (v / maxV) * (H - B - 10);
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img">
    ${[0, 0.5, 1].map((f) => html`<line x1="${L}" x2="${W}" y1="${y(maxV * f)}" y2="${y(maxV * f)}" class="grid-line"></line><text x="0" y="${y(maxV * f) + 4}" class="lbl">${fmt(maxV * f)}</text>`)}
    ${series.map((s) => {
      const pts = points.map((p, i) => [L + i * step, p[s.key]]).filter((p) => p[1] !== null && p[1] !== undefined);
      return html`<polyline class="line ${s.cls}" points="${pts.map((p) => p[0].toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ")}"></polyline>
        ${pts.map((p) => html`<circle cx="${p[0].toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="3" class="dot ${s.cls}"><title>${fmt(p[1])}</title></circle>`)}`;
    })}
    ${points.map((p, i) => html`<text x="${L + i * step}" y="${H - 4}" class="lbl mid">${p.label}</text>`)}
  </svg><div class="legend">${series.map((s) => html`<span><i class="sw ${s.cls}"></i>${s.label}</span>`)}</div>`;
}

export async function reports(el, ctx) {
  const now = new Date(), d0 = new Date(now); d0.setHours(0, 0, 0, 0);
  const day = 86400000;
  const days = Array.from({ length: 14 }, (_, i) => { const f = new Date(d0.getTime() - (13 - i) * day); return { from: f, to: new Date(f.getTime() + day), label: `${f.getMonth() + 1}/${f.getDate()}` }; });
  const weeks = Array.from({ length: 8 }, (_, i) => { const to = new Date(d0.getTime() + day - (7 - i) * 7 * day); const from = new Date(to.getTime() - 7 * day); return { from, to, label: `${from.getMonth() + 1}/${from.getDate()}` }; });
  const periods = Array.from({ length: 6 }, (_, i) => period(new Date(now.getFullYear(), now.getMonth() - 5 + i, 1)));
  mount(el, html`<h1 class="title">${t("r.title")}</h1><p class="muted">${t("loading")}</p>`);
  const [dr, wr, cr] = await Promise.all([
    Promise.all(days.map((d) => report(ctx, d.from, d.to).catch(() => null))),
    Promise.all(weeks.map((w) => report(ctx, w.from, w.to).catch(() => null))),
    Promise.all(periods.map((p) => api("GET", P(ctx) + "/reports/collection" + qs({ period: p })).catch(() => null))),
  ]);
  if (!ctx.alive()) return;
  days.forEach((d, i) => { d.r = dr[i]; });
  const wk = weeks.map((w, i) => ({ label: w.label, respond: wr[i] && wr[i].response_sla_met_pct, resolve: wr[i] && wr[i].resolution_sla_met_pct, sat: wr[i] && wr[i].satisfaction_average }));
  const co = periods.map((p, i) => ({ label: p.slice(2), rate: cr[i] && cr[i].collection_rate !== null ? Number(cr[i].collection_rate) * 100 : null }));
  const W = 600, H = 170, L = 36, B = 20, bw = (W - L) / co.length;
  mount(el, html`<h1 class="title">${t("r.title")}</h1>
  <div class="grid2">
    <section class="panel"><h3>${t("r.by_type")}</h3>${barsByType(days)}</section>
    <section class="panel"><h3>${t("r.sla")}</h3>${lines(wk, [{ key: "respond", cls: "c0", label: t("r.respond") }, { key: "resolve", cls: "c2", label: t("r.resolve") }], 100, (v) => Math.round(v) + "%")}</section>
    <section class="panel"><h3>${t("r.sat")}</h3>${lines(wk, [{ key: "sat", cls: "c1", label: t("r.sat.avg") }], 5, (v) => v.toFixed(1))}</section>
    <section class="panel"><h3>${t("r.coll")}</h3><svg class="chart" viewBox="0 0 ${W} ${H}" role="img">
      <line x1="${L}" y1="${H - B}" x2="${W}" y2="${H - B}" class="axis"></line><text x="0" y="14" class="lbl">100%</text>
      ${co.map((c, i) => { const h = ((c.rate || 0) / 100) * (H - B - 10); return html`<rect x="${L + i * bw + 8}" y="${H - B - h}" width="${bw - 16}" height="${h}" class="bar c0"></rect>
        <text x="${L + i * bw + bw / 2}" y="${H - B - h - 4}" class="val mid">${c.rate === null ? "—" : c.rate.toFixed(1) + "%"}</text>
        <text x="${L + i * bw + bw / 2}" y="${H - 4}" class="lbl mid">${c.label}</text>`; })}</svg></section>
  </div>
  <section class="panel"><div class="row between"><h3>${t("r.by_channel")}</h3>
    <span>${t("r.internal")} <b id="internal-requests">—</b></span></div>
    <table class="grid" id="by-channel"><thead><tr><th>${t("r.ch.channel")}</th><th class="num">${t("r.ch.count")}</th>
      <th class="num">${t("r.ch.respond")}</th><th class="num">${t("r.ch.resolve")}</th></tr></thead><tbody></tbody></table></section>`);
  // the last 30 days by channel (the internal hotline's among them) and its internal requests
  const met = (m, x) => (m + x ? html`${m} / ${m + x} <span class="muted">(${pct((m / (m + x)) * 100)})</span>` : "—");
  report(ctx, new Date(d0.getTime() - 29 * day), new Date(d0.getTime() + day)).then((r) => {
    if (!ctx.alive()) return;
    $("#internal-requests", el).textContent = String(r.internal_requests || 0);
    const ch = Object.entries(r.by_channel || {}).sort((a, b) => b[1].count - a[1].count);
    mount($("#by-channel tbody", el), ch.length ? html`${ch.map(([k, v]) => html`<tr data-channel="${k}"><td>${tv("channel", k)}</td>
      <td class="num" data-k="count">${v.count}</td><td class="num">${met(v.first_response_met || 0, v.first_response_missed || 0)}</td>
      <td class="num">${met(v.resolution_met || 0, v.resolution_missed || 0)}</td></tr>`)}`
      : html`<tr><td colspan="4" class="empty">${t("none")}</td></tr>`);
  }).catch((e) => { if (ctx.alive()) mount($("#by-channel tbody", el), html`<tr><td colspan="4" class="form-error">${errText(e)}</td></tr>`); });
}
