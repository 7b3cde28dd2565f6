// parking: parking spaces (车位) and their leases (车位租赁), a tab of the
// 房屋与业户 screen (#/units?tab=parking): the spaces with the lease that
// covers today, a new space (code, zone), a lease of a space to a party with
// its dates and monthly fee (dates that overlap another lease of the space
// are the API's 409, said on the dates with the leases already there), the
// leases current or ended, paged with the API's cursor, and ending a lease.
import { t } from "./i18n.js";
import { api, qs, html, mount, onSubmit, $, showErrors, clearErrors, fieldError, errText, money, ymd, toFen } from "./lib.js";

const P = (ctx) => `/v1/properties/${ctx.pid}`;
const PAGE = 50;
function debounce(fn, ms) { let h = 0; return (...a) => { clearTimeout(h); h = setTimeout(() => fn(...a), ms); }; }

// A lease as the desk speaks of it: current, not begun yet, or ended.
function leaseState(l, today) {
  if (l.ended_at || (l.end_date && l.end_date < today)) return "ended";
  return l.start_date > today ? "future" : "current";
}

function view(today) {
  return html`<div class="grid2">
    <section class="panel"><h3>${t("pk.space.new")}</h3>
      <form id="pk-space-form" class="form inline" novalidate>
        <label class="stack"><span>${t("pk.code")}</span><input name="code" maxlength="64" autocomplete="off" placeholder="B2-017"></label>
        <label class="stack grow"><span>${t("pk.zone")}</span><input name="zone" maxlength="64" autocomplete="off" list="pk-zones" placeholder="B2"></label>
        <datalist id="pk-zones"></datalist>
        <button class="primary">${t("pk.space.submit")}</button><p class="form-error" role="alert"></p></form>
      <p class="ok" id="pk-space-done" role="status"></p></section>
    <section class="panel"><h3>${t("pk.lease.new")}</h3>
      <form id="pk-lease-form" class="form" novalidate>
        <div class="row"><label class="stack"><span>${t("pk.space")}</span><input name="space_id" list="pk-codes" autocomplete="off" placeholder="B2-017"></label>
          <datalist id="pk-codes"></datalist>
          <label class="stack grow"><span>${t("pk.party")}</span><input name="party_id" list="pk-parties" autocomplete="off" placeholder="${t("pk.party.ph")}"></label>
          <datalist id="pk-parties"></datalist>
          <label class="stack"><span>${t("pk.unit")}</span><input name="unit_id" list="pk-units" autocomplete="off" placeholder="A-1201"></label>
          <datalist id="pk-units"></datalist></div>
        <div class="row"><label class="stack"><span>${t("pk.start")}</span><input type="date" name="start_date" value="${today}"></label>
          <label class="stack"><span>${t("pk.end")}</span><input type="date" name="end_date"></label>
          <label class="stack"><span>${t("pk.fee")}</span><input name="monthly_fee" inputmode="decimal" autocomplete="off" placeholder="600.00"></label>
          <button class="primary">${t("pk.lease.submit")}</button></div>
        <p class="muted small">${t("pk.end.hint")}</p>
        <p class="form-error" role="alert"></p><p class="ok" id="pk-lease-done" role="status"></p></form></section>
  </div>
  <section class="panel"><div class="row between"><h3>${t("pk.spaces")}</h3>
    <form class="filters" id="pk-zone-filter" role="search"><input name="zone" data-search autocomplete="off" list="pk-zones"
      placeholder="${t("pk.zone.filter")}" aria-label="${t("pk.zone.filter")}"></form></div>
    <table class="grid" id="pk-spaces"><thead><tr><th>${t("pk.code")}</th><th>${t("pk.zone")}</th><th>${t("pk.lessee")}</th>
      <th>${t("pk.dates")}</th><th class="num">${t("pk.fee")}</th><th></th></tr></thead><tbody></tbody></table>
    <div class="row"><button type="button" class="secondary" id="pk-spaces-more" hidden>${t("more")}</button></div></section>
  <section class="panel"><div class="row between"><h3>${t("pk.leases")}</h3>
    <select id="pk-active" aria-label="${t("pk.leases")}"><option value="true">${t("pk.active.true")}</option>
      <option value="false">${t("pk.active.false")}</option><option value="">${t("all")}</option></select></div>
    <form id="pk-end-form" class="form inline moveout" novalidate hidden>
      <input type="hidden" name="id"><p class="grow" id="pk-end-what"></p>
      <label class="stack"><span>${t("pk.end.date")}</span><input type="date" name="end_date" value="${today}"></label>
      <button class="primary">${t("pk.end.submit")}</button><button type="button" class="secondary" id="pk-end-cancel">${t("cancel")}</button>
      <p class="form-error" role="alert"></p></form>
    <table class="grid" id="pk-leases"><thead><tr><th>${t("pk.space")}</th><th>${t("pk.zone")}</th><th>${t("pk.lessee")}</th><th>${t("pk.unit")}</th>
      <th>${t("pk.dates")}</th><th class="num">${t("pk.fee")}</th><th>${t("pk.state")}</th><th></th></tr></thead><tbody></tbody></table>
    <div class="row"><button type="button" class="secondary" id="pk-leases-more" hidden>${t("more")}</button></div></section>`;
}

export async function parking(box, ctx) {
  const today = ymd(new Date());
  mount(box, view(today));
  const sf = $("#pk-space-form", box), lf = $("#pk-lease-form", box), ef = $("#pk-end-form", box);
  const zoneFilter = $("#pk-zone-filter", box), active = $("#pk-active", box);
  sf.code.focus();
  // names of the parties and codes of the units the leases name, asked once
  // each: a list drawn while another list's question is out waits for its answer
  const names = new Map(), codes = new Map(), asked = new Map(), spaces = new Map(), zones = new Set();
  function ask(map, path, id, field) {
    const key = path + id;
    if (!asked.has(key))
      asked.set(key, api("GET", P(ctx) + path + id).then((x) => x[field], () => "—").then((v) => { map.set(id, v); }));
    return asked.get(key);
  }
  async function resolve(leases) {
    await Promise.all(leases.flatMap((l) => [l.party_id && ask(names, "/parties/", l.party_id, "name"),
                                             l.unit_id && ask(codes, "/units/", l.unit_id, "code")]));
  }
  const dates = (l) => `${l.start_date} – ${l.end_date || t("pk.open_ended")}`;

  /* ---- spaces, a page at a time */
  let spaceCursor = null;
  async function loadSpaces(more) {
    const zone = zoneFilter.zone.value.trim();
    const r = await api("GET", P(ctx) + "/parking-spaces" + qs({ zone, limit: PAGE, cursor: more ? spaceCursor : "" }));
    await resolve(r.items.map((s) => s.current_lease).filter(Boolean));
    if (!ctx.alive() || zoneFilter.zone.value.trim() !== zone) return;
    spaceCursor = r.next_cursor;
    for (const s of r.items) { spaces.set(s.code.toLowerCase(), s); if (s.zone) zones.add(s.zone); }
    mount($("#pk-codes", box), html`${Array.from(spaces.values()).map((s) => html`<option value="${s.code}">${s.zone || ""}</option>`)}`);
    mount($("#pk-zones", box), html`${Array.from(zones).map((z) => html`<option value="${z}"></option>`)}`);
    const rows = html`${r.items.map((s) => { const l = s.current_lease; return html`<tr data-space="${s.id}">
      <td class="number">${s.code}</td><td>${s.zone || "—"}</td>
      <td>${l ? names.get(l.party_id) : html`<span class="st st-p-active">${t("pk.vacant")}</span>`}</td>
      <td>${l ? dates(l) : ""}</td><td class="num">${l ? money(l.monthly_fee) : ""}</td>
      <td><button type="button" class="secondary small-btn" data-lease-space="${s.code}">${t("pk.lease.go")}</button></td></tr>`; })}`;
    const tbody = $("#pk-spaces tbody", box);
    if (more) tbody.insertAdjacentHTML("beforeend", rows.s);
    else mount(tbody, r.items.length ? rows : html`<tr><td colspan="6" class="empty">${t("pk.spaces.none")}</td></tr>`);
    $("#pk-spaces-more", box).hidden = !spaceCursor;
  }

  /* ---- leases, a page at a time */
  let leaseCursor = null;
  async function loadLeases(more) {
    const act = active.value;
    const r = await api("GET", P(ctx) + "/parking-leases" + qs({ active: act, limit: PAGE, cursor: more ? leaseCursor : "" }));
    await resolve(r.items);
    if (!ctx.alive() || active.value !== act) return;
    leaseCursor = r.next_cursor;
    const rows = html`${r.items.map((l) => { const st = leaseState(l, today); return html`<tr data-lease="${l.id}">
      <td class="number">${l.space_code}</td><td>${l.zone || "—"}</td><td>${names.get(l.party_id)}</td><td>${l.unit_id ? codes.get(l.unit_id) : "—"}</td>
      <td>${dates(l)}</td><td class="num">${money(l.monthly_fee)}</td><td><span class="st st-lease-${st}">${t("pk.state." + st)}</span></td>
      <td>${st !== "ended" ? html`<button type="button" class="link danger" data-end="${l.id}" data-what="${l.space_code} · ${names.get(l.party_id)}"
        data-start="${l.start_date}">${t("pk.end.go")}</button>` : ""}</td></tr>`; })}`;
    const tbody = $("#pk-leases tbody", box);
    if (more) tbody.insertAdjacentHTML("beforeend", rows.s);
    else mount(tbody, r.items.length ? rows : html`<tr><td colspan="8" class="empty">${t("none")}</td></tr>`);
    $("#pk-leases-more", box).hidden = !leaseCursor;
  }
  const reload = () => Promise.all([loadSpaces(false), loadLeases(false)]);

  /* ---- a new space */
  onSubmit(sf, async () => {
    clearErrors(sf);
    const b = { code: sf.code.value.trim() };
    if (sf.zone.value.trim()) b.zone = sf.zone.value.trim();
    try {
      const s = await api("POST", P(ctx) + "/parking-spaces", b);
      sf.reset();
      $("#pk-space-done", box).textContent = t("pk.space.done", { code: s.code });
      sf.code.focus();
      await loadSpaces(false);
    } catch (e) { showErrors(sf, e); }
  });

  /* ---- a new lease: the space by its code, the party by name (or phone's
   * last 4), the unit by its code; each input is named after the API's field */
  let found = [];
  const label = (p) => `${p.name} ${p.phone || ""}`.trim();
  lf.party_id.addEventListener("input", debounce(async () => {
    const q = lf.party_id.value.trim();
    if (!q || found.some((p) => label(p) === q)) return;
    const r = await api("GET", P(ctx) + "/parties" + qs({ q, limit: 10 })).catch(() => ({ items: [] }));
    found = r.items;
    mount($("#pk-parties", box), html`${found.map((p) => html`<option value="${label(p)}"></option>`)}`);
  }, 250));
  lf.unit_id.addEventListener("input", debounce(async () => {
    const q = lf.unit_id.value.trim();
    if (!q) return;
    const r = await api("GET", P(ctx) + "/units" + qs({ q, limit: 8 })).catch(() => ({ items: [] }));
    mount($("#pk-units", box), html`${r.items.map((u) => html`<option value="${u.code}"></option>`)}`);
  }, 250));
  async function spaceOf(code) {
    const key = code.toLowerCase();
    if (spaces.has(key)) return spaces.get(key);
    // not on the pages shown: look through the rest
    let cursor = "";
    do {
      const r = await api("GET", P(ctx) + "/parking-spaces" + qs({ limit: 500, cursor }));
      for (const s of r.items) spaces.set(s.code.toLowerCase(), s);
      cursor = r.next_cursor;
    } while (cursor && !spaces.has(key));
    return spaces.get(key) || null;
  }
  async function partyOf(q) {
    const hit = found.find((p) => label(p) === q);
    if (hit) return hit;
    const r = await api("GET", P(ctx) + "/parties" + qs({ q, limit: 10 }));
    const exact = r.items.filter((p) => p.name === q || label(p) === q);
    return exact.length === 1 ? exact[0] : r.items.length === 1 ? r.items[0] : null;
  }
  async function unitOf(code) {
    const r = await api("GET", P(ctx) + "/units" + qs({ q: code, limit: 20 }));
    return r.items.find((u) => u.code.toLowerCase() === code.toLowerCase()) || null;
  }
  box.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-lease-space]");
    if (!b) return;
    lf.space_id.value = b.dataset.leaseSpace;
    lf.party_id.focus();
    lf.scrollIntoView({ block: "nearest" });
  });
  onSubmit(lf, async () => {
    clearErrors(lf);
    $("#pk-lease-done", box).textContent = "";
    const code = lf.space_id.value.trim(), who = lf.party_id.value.trim(), ucode = lf.unit_id.value.trim();
    if (!code) return fieldError(lf, "space_id", "is required");
    if (!who) return fieldError(lf, "party_id", "is required");
    const fee = toFen(lf.monthly_fee.value);
    if (fee === null) return fieldError(lf, "monthly_fee", "money");
    try {
      const space = await spaceOf(code);
      if (!space) return fieldError(lf, "space_id", "no such parking space in this property");
      const party = await partyOf(who);
      if (!party) return fieldError(lf, "party_id", "no such party in this property");
      const b = { space_id: space.id, party_id: party.id, start_date: lf.start_date.value, monthly_fee: fee };
      if (lf.end_date.value) b.end_date = lf.end_date.value;
      if (ucode) {
        const u = await unitOf(ucode);
        if (!u) return fieldError(lf, "unit_id", "no such unit in this property");
        b.unit_id = u.id;
      }
      const l = await api("POST", P(ctx) + "/parking-leases", b);
      names.set(party.id, party.name);
      lf.reset();
      lf.start_date.value = today;
      $("#pk-lease-done", box).textContent = t("pk.lease.done", { code: l.space_code, name: party.name, d: dates(l) });
      await reload();
    } catch (e) {
      showErrors(lf, e);
      if (e.code === "conflict") await overlap(code);
    }
  });
  // The space is leased over these dates already: the dates marked, and the
  // leases of the space that are not over named, so the desk sees why.
  async function overlap(code) {
    lf.end_date.classList.add("invalid");
    const space = spaces.get(code.toLowerCase());
    const r = space ? await api("GET", P(ctx) + "/parking-leases" + qs({ space_id: space.id, limit: 20 })).catch(() => null) : null;
    const open = r ? r.items.filter((l) => leaseState(l, today) !== "ended") : [];
    if (r) await resolve(open);
    $(".form-error", lf).textContent = t("pk.overlap", { code }) + (open.length ? " " + open.map((l) => `${names.get(l.party_id)} ${dates(l)}`).join("；") : "");
  }

  /* ---- ending a lease */
  box.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-end]");
    if (b) {
      clearErrors(ef);
      ef.id.value = b.dataset.end;
      ef.end_date.value = b.dataset.start > today ? b.dataset.start : today;
      $("#pk-end-what", box).textContent = t("pk.end.what", { what: b.dataset.what });
      ef.hidden = false;
      ef.end_date.focus();
    }
    if (ev.target.closest("#pk-end-cancel")) ef.hidden = true;
    if (ev.target.closest("#pk-spaces-more")) loadSpaces(true).catch((e) => { $("#pk-space-done", box).textContent = errText(e); });
    if (ev.target.closest("#pk-leases-more")) loadLeases(true).catch((e) => { $("#pk-lease-done", box).textContent = errText(e); });
  });
  onSubmit(ef, async () => {
    clearErrors(ef);
    try {
      await api("POST", P(ctx) + `/parking-leases/${ef.id.value}/end`, { end_date: ef.end_date.value });
      ef.hidden = true;
      await reload();
    } catch (e) { showErrors(ef, e); }
  });

  zoneFilter.addEventListener("submit", (ev) => { ev.preventDefault(); loadSpaces(false); });
  zoneFilter.zone.addEventListener("input", debounce(() => loadSpaces(false), 300));
  active.addEventListener("change", () => loadLeases(false));
  await reload();
}
