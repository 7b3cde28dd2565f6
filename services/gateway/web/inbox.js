// inbox: the caller's notifications (站内信) and, for managers, composing an
// announcement (通知公告). The menu shows it only when the notifications
// service answers GET /v1/notifications/unread-count (app.js).
import { t, tv } from "./i18n.js";
import { api, qs, html, mount, onSubmit, $, showErrors, dt } from "./lib.js";

// A notification's link names what it is about ({ticket_id, unit_id, ...}):
// the console's page for it, when it is of the property being shown.
function linkOf(n, ctx) {
  const l = n.link && typeof n.link === "object" ? n.link : {};
  if (l.property_id && l.property_id !== ctx.pid) return "";
  if (l.ticket_id) return "#/tickets/" + l.ticket_id;
  if (l.unit_id) return "#/units/" + l.unit_id;
  if (l.party_id) return "#/parties/" + l.party_id;
  return "";
}

// The notification texts carry RFC 3339 UTC times; a desk in Shanghai reads local ones.
const ISO = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z\b/g;
function localTimes(text) { return String(text || "").replace(ISO, (m) => dt(m)); }

const USES = ["residential", "office", "retail", "hotel", "parking", "storage", "other"];
const CHANNELS = ["inbox", "sms", "email", "preferred"];
function audienceLabel(a) {
  if (!a || a === "all") return t("n.a.all");
  const [k, v] = a.split(":");
  return k === "use" ? tv("use", v) : `${t("n.a.building")} ${v}`;
}

function sentList(sent) {
  if (!sent || !sent.items || !sent.items.length) return "";
  return html`<h3>${t("n.a.sent_list")}</h3><table class="grid"><tbody>${sent.items.map((a) => html`<tr>
    <td>${a.title}</td><td>${audienceLabel(a.audience)}</td><td class="num">${a.recipients}</td><td>${dt(a.created_at)}</td></tr>`)}</tbody></table>`;
}

export async function inbox(el, ctx) {
  const mgr = ctx.me.role === "admin" || ctx.me.role === "manager";
  const [r, sent] = await Promise.all([
    api("GET", "/v1/notifications" + qs({ limit: 50 })),
    mgr ? api("GET", `/v1/properties/${ctx.pid}/announcements` + qs({ limit: 5 }), undefined, { noRetry: true }).catch(() => null) : null,
  ]);
  if (!ctx.alive()) return;
  mount(el, html`<div class="row between"><h1 class="title">${t("n.title")}</h1>
    <button type="button" class="secondary" id="n-all">${t("n.readall")}</button></div>
  <div class="ticket"><div class="col"><section class="panel"><ul class="inbox">${r.items.length ? r.items.map((n) => html`
    <li class="${n.read ? "read" : "unread"}"><div class="row between"><b>${n.title}</b><span class="muted small">${dt(n.created_at)}</span></div>
      <p>${localTimes(n.body)}</p><div class="acts">${linkOf(n, ctx) ? html`<a href="${linkOf(n, ctx)}" data-open="${n.id}">${t("open")}</a>` : ""}
      ${n.read ? "" : html`<button type="button" class="link" data-read="${n.id}">${t("n.read")}</button>`}</div></li>`)
    : html`<li class="empty">${t("n.empty")}</li>`}</ul></section></div>
  ${mgr ? html`<div class="col"><section class="panel"><h3>${t("n.announce")}</h3><form id="an-form" class="form" novalidate>
    <label class="stack"><span>${t("n.a.title")}</span><input name="title"></label>
    <label class="stack"><span>${t("n.a.body")}</span><textarea name="body" rows="5"></textarea></label>
    <div class="row"><label class="stack"><span>${t("n.a.audience")}</span><select name="kind" id="an-kind">
      <option value="all">${t("n.a.all")}</option><option value="building">${t("n.a.building")}</option><option value="use">${t("n.a.use")}</option></select></label>
      <label class="stack grow" id="an-building" hidden><span>${t("n.a.building")}</span><input name="building"></label>
      <label class="stack" id="an-use" hidden><span>${t("n.a.use")}</span><select name="use">${USES.map((u) => html`<option value="${u}">${tv("use", u)}</option>`)}</select></label></div>
    <fieldset class="chips"><legend>${t("n.a.channels")}</legend>${CHANNELS.map((c) => html`<label class="chip"><input type="checkbox" name="channels" value="${c}"><span>${t("n.ch." + c)}</span></label>`)}</fieldset>
    <input type="hidden" name="audience"><p class="form-error" role="alert"></p>
    <button class="primary">${t("n.a.send")}</button><p class="ok" id="an-done" role="status"></p></form>
    <div id="an-sent">${sentList(sent)}</div>
    </section></div>` : ""}</div>`);
  $("ul.inbox", el).addEventListener("click", async (ev) => {
    const o = ev.target.closest("[data-open]");
    if (o) { api("POST", `/v1/notifications/${o.dataset.open}/read`).then(ctx.refreshBadge, () => {}); return; }
    const b = ev.target.closest("[data-read]");
    if (!b) return;
    await api("POST", `/v1/notifications/${b.dataset.read}/read`).catch(() => {});
    ctx.refreshBadge();
    ctx.rerender();
  });
  $("#n-all", el).addEventListener("click", async () => {
    await api("POST", "/v1/notifications/read-all").catch(() => {});
    ctx.refreshBadge();
    ctx.rerender();
  });
  const f = $("#an-form", el);
  if (f) f.kind.addEventListener("change", () => {
    $("#an-building", el).hidden = f.kind.value !== "building";
    $("#an-use", el).hidden = f.kind.value !== "use";
  });
  if (f) onSubmit(f, async (ev) => {
    ev.preventDefault();
    const kind = f.kind.value;
    const audience = kind === "all" ? "all" : kind === "building" ? "building:" + f.building.value.trim() : "use:" + f.use.value;
    try {
      const b = { title: f.title.value.trim(), body: f.body.value.trim(), audience };
      const ch = Array.from(f.querySelectorAll("[name=channels]:checked"), (x) => x.value);
      if (ch.length) b.channels = ch;
      const res = await api("POST", `/v1/properties/${ctx.pid}/announcements`, b);
      f.reset();
      $("#an-done", el).textContent = t("n.a.sent", { n: res.recipients });
      const again = await api("GET", `/v1/properties/${ctx.pid}/announcements` + qs({ limit: 5 })).catch(() => null);
      if (ctx.alive()) mount($("#an-sent", el), sentList(again));
    } catch (e) { showErrors(f, e); }
  });
}
