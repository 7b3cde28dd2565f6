// m.js: the residents' pages (issue K, API.md "Residents"): sign in by SMS
// code, my units, report a repair with a photo, my tickets (status, public
// timeline, rating once resolved), item releases waiting for my word, bills,
// payments and receipts, announcements and activities, visitors, and the
// messages the property sent me (a ticket's progress, bills, activity
// reminders: GET /v1/me/notifications) with the unread count on the tile.
// Same safety as the console (../lib.js): every value through html``, the
// token only in sessionStorage and the Authorization header, POSTs with an
// Idempotency-Key retried after a lost connection (the banner says so).
import { html, mount, $, $$, api, ApiError, onApi, getToken, setToken, fetchText, printPreview } from "../lib.js";
// the language is the console's (one choice per browser) and so are the API's problem texts in Chinese
import { getLang, setLang, tp } from "../i18n.js";

/* ---------------------------------------------------------------- words */
const zh = {
  app: "业主服务", lang: "English", logout: "退出",
  "login.title": "业主服务", "login.lead": "用登记在物业的手机号登录，无需密码。",
  "login.phone": "手机号", "login.code": "验证码", "login.send": "获取验证码", "login.resend": "重新获取",
  "login.sent": "如果该手机号已在物业登记，验证码已发送，10 分钟内有效。", "login.submit": "登录",
  "home.units": "我的房屋", "home.none": "没有您当前居住的房屋。",
  "nav.repair": "报修", "nav.tickets": "我的工单", "nav.approvals": "待我审批", "nav.bills": "账单与收据",
  "nav.news": "公告与活动", "nav.visitors": "访客登记", "nav.messages": "消息",
  "msg.none": "暂无消息。", "msg.unread": "未读", "msg.open": "查看工单",
  "role.owner": "业主", "role.tenant": "租户", "role.resident": "住户",
  "rep.unit": "房屋", "rep.type": "类型", "rep.title": "问题简述", "rep.desc": "详细描述（可选）",
  "rep.photo": "照片（可拍照）", "rep.submit": "提交", "rep.done": "已提交，工单号 {n}。物业会尽快处理。",
  "rep.photo_failed": "工单已提交，但照片上传失败：{e}",
  "type.repair": "报修", "type.complaint": "投诉", "type.inquiry": "咨询", "type.suggestion": "建议",
  "type.renovation": "装修", "type.item_release": "物品放行",
  "status.new": "待受理", "status.accepted": "已受理", "status.assigned": "已派工", "status.in_progress": "处理中",
  "status.on_hold": "暂停", "status.resolved": "已解决", "status.closed": "已关闭", "status.cancelled": "已取消",
  "status.unpaid": "未缴", "status.partially_paid": "部分已缴", "status.paid": "已缴", "status.approved": "已同意", "status.rejected": "已驳回", "status.released": "已放行", "status.refused": "已拒绝",
  "tk.none": "还没有工单。", "tk.timeline": "处理进度", "tk.photos": "照片", "tk.rate": "评价服务",
  "tk.comment": "留言（可选）", "tk.rate_submit": "提交评价", "tk.rated": "您的评价：{r} 星",
  "tk.approve": "同意放行", "tk.refuse": "拒绝", "tk.items": "物品", "tk.carrier": "承运",
  "ap.none": "没有等待您审批的事项。", "ap.lead": "以下物品放行申请需要您（业主或租户）同意。",
  "bill.balance": "应缴余额", "bill.credit": "预存", "bill.bills": "账单", "bill.payments": "缴费记录",
  "bill.receipt": "收据", "bill.none": "暂无。", "bill.period": "账期", "bill.amount": "金额",
  "bill.paid": "已缴", "bill.due": "到期", "bill.no": "收据号", "bill.method": "方式", "bill.at": "时间", "bill.payer": "付款人",
  "news.ann": "公告", "news.act": "社区活动", "news.none": "暂无。", "act.signup": "报名", "act.cancel": "取消报名",
  "act.places": "剩余名额 {n}", "act.full": "名额已满", "act.registered": "已报名", "act.people": "人数",
  "act.unit": "以哪个房屋报名",
  "vis.name": "访客姓名", "vis.at": "预计到访时间", "vis.plate": "车牌号（可选）", "vis.submit": "登记",
  "vis.done": "已登记。请把通行码告诉访客：", "vis.unit": "房屋",
  "net.offline": "网络连接已断开，正在重试…", "net.back": "网络已恢复",
  "err.validation_failed": "请检查填写的内容。", "err.unauthenticated": "验证码不正确或已过期。",
  "err.rate_limited": "操作太频繁，请稍后再试。", "err.not_found": "没有找到，或这项功能还没有开通。",
  "err.activity_full": "名额已满。", "err.conflict": "现在不能这样操作。", "err.forbidden": "没有权限。",
  "err.unknown": "出错了，请稍后再试", "err.required": "必填", "err.invalid": "格式不正确",
  loading: "加载中…",
};
const en = {
  app: "Resident services", lang: "中文", logout: "Sign out",
  "login.title": "Resident services", "login.lead": "Sign in with the phone number your property has on file. No password.",
  "login.phone": "Mobile number", "login.code": "Code", "login.send": "Send me a code", "login.resend": "Send again",
  "login.sent": "If this phone is registered with the property, a code was sent. It is valid for 10 minutes.",
  "login.submit": "Sign in",
  "home.units": "My units", "home.none": "You occupy no unit now.",
  "nav.repair": "Report a repair", "nav.tickets": "My requests", "nav.approvals": "Waiting for me",
  "nav.bills": "Bills & receipts", "nav.news": "News & activities", "nav.visitors": "Visitors",
  "nav.messages": "Messages", "msg.none": "No messages yet.", "msg.unread": "Unread", "msg.open": "Open the request",
  "role.owner": "Owner", "role.tenant": "Tenant", "role.resident": "Resident",
  "rep.unit": "Unit", "rep.type": "Type", "rep.title": "What is wrong", "rep.desc": "Details (optional)",
  "rep.photo": "Photo (camera)", "rep.submit": "Submit", "rep.done": "Sent: request {n}. The property will follow up.",
  "rep.photo_failed": "The request was sent but the photo was not: {e}",
  "type.repair": "Repair", "type.complaint": "Complaint", "type.inquiry": "Question", "type.suggestion": "Suggestion",
  "type.renovation": "Renovation", "type.item_release": "Item release",
  "status.new": "New", "status.accepted": "Accepted", "status.assigned": "Assigned", "status.in_progress": "In progress",
  "status.on_hold": "On hold", "status.resolved": "Resolved", "status.closed": "Closed", "status.cancelled": "Cancelled",
  "status.unpaid": "Unpaid", "status.partially_paid": "Part paid", "status.paid": "Paid", "status.approved": "Approved", "status.rejected": "Rejected", "status.released": "Released", "status.refused": "Refused",
  "tk.none": "No requests yet.", "tk.timeline": "Progress", "tk.photos": "Photos", "tk.rate": "Rate the service",
  "tk.comment": "Comment (optional)", "tk.rate_submit": "Send rating", "tk.rated": "Your rating: {r} stars",
  "tk.approve": "Approve", "tk.refuse": "Refuse", "tk.items": "Items", "tk.carrier": "Carrier",
  "ap.none": "Nothing is waiting for you.", "ap.lead": "These item releases need your word as owner or tenant.",
  "bill.balance": "Balance due", "bill.credit": "Credit", "bill.bills": "Bills", "bill.payments": "Payments",
  "bill.receipt": "Receipt", "bill.none": "None.", "bill.period": "Period", "bill.amount": "Amount",
  "bill.paid": "Paid", "bill.due": "Due", "bill.no": "Receipt no.", "bill.method": "Method", "bill.at": "Paid at", "bill.payer": "Payer",
  "news.ann": "Announcements", "news.act": "Community activities", "news.none": "Nothing yet.", "act.signup": "Sign up",
  "act.cancel": "Cancel", "act.places": "{n} places left", "act.full": "Full", "act.registered": "Signed up",
  "act.people": "People", "act.unit": "For unit",
  "vis.name": "Visitor's name", "vis.at": "Expected at", "vis.plate": "Car plate (optional)", "vis.submit": "Register",
  "vis.done": "Registered. Give your visitor this pass code:", "vis.unit": "Unit",
  "net.offline": "Connection lost, retrying…", "net.back": "Back online",
  "err.validation_failed": "Please check the form.", "err.unauthenticated": "Wrong or expired code.",
  "err.rate_limited": "Too many tries, please wait a little.", "err.not_found": "Not found, or not available yet.",
  "err.activity_full": "The activity is full.", "err.conflict": "Not possible now.", "err.forbidden": "Not allowed.",
  "err.unknown": "Something went wrong, please try again", "err.required": "required", "err.invalid": "invalid",
  loading: "Loading…",
};
const WORDS = { "zh-CN": zh, en };
let lang = getLang();
function t(key, vars) {
  let s = WORDS[lang][key] ?? zh[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace("{" + k + "}", String(v));
  return s;
}
const tv = (prefix, v) => { const k = prefix + "." + v; const s = t(k); return s === k ? v : s; };

/* ---------------------------------------------------------------- helpers */
const money = (fen) => (typeof fen === "number" ? "¥" + (fen / 100).toFixed(2) : "—");
function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  return d.toLocaleString(lang, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}
const items = (r) => (r && Array.isArray(r.items) ? r.items : Array.isArray(r) ? r : []);
function errText(e) {
  if (!(e instanceof ApiError)) return t("err.unknown");
  const s = t("err." + e.code);
  return s === "err." + e.code ? t("err.unknown") + " (" + e.code + ")" : s;
}
function showErrors(form, e) {
  $$(".invalid", form).forEach((x) => x.classList.remove("invalid"));
  $$(".err", form).forEach((x) => (x.textContent = ""));
  const general = [];
  for (const d of e instanceof ApiError ? e.details : []) {
    const input = d.field && form.querySelector(`[name="${CSS.escape(d.field)}"]`);
    if (input) {
      input.classList.add("invalid");
      const p = input.closest("label") && input.closest("label").querySelector(".err");
      if (p) p.textContent = d.problem ? tp(d.problem) : t("err.invalid");
    } else general.push(d.field ? d.field + ": " + tp(d.problem || "") : tp(d.problem || ""));
  }
  $(".form-error", form).textContent = [errText(e), ...general.filter(Boolean)].join(" ");
}
function clearErrors(form) {
  $$(".invalid", form).forEach((x) => x.classList.remove("invalid"));
  $$(".err, .form-error", form).forEach((x) => (x.textContent = ""));
}
// A form's submit: its buttons off while the request runs (retries included).
function onSubmit(form, fn) {
  // a field typed in again loses its old error
  form.addEventListener("input", (ev) => {
    const l = ev.target.closest && ev.target.closest("label");
    ev.target.classList && ev.target.classList.remove("invalid");
    if (l && l.querySelector(".err")) l.querySelector(".err").textContent = "";
    if (!form.querySelector(".invalid")) $$(".form-error", form).forEach((x) => (x.textContent = ""));
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const btns = $$("button", form);
    btns.forEach((b) => (b.disabled = true));
    clearErrors(form);
    try { await fn(new FormData(form), ev.submitter); } catch (e) { showErrors(form, e); }
    finally { btns.forEach((b) => (b.disabled = false)); }
  });
}
const field = (name, label, input) => html`<label><span>${label}</span>${input}<p class="err"></p></label>`;
const badge = (s) => html`<span class="st st-${s}">${tv("status", s)}</span>`;

/* ---------------------------------------------------------------- state */
let me = null; // GET /v1/me
const view = () => $("#view");
function setTitle(key, back) {
  $("#title").textContent = t(key);
  document.title = t(key);
  $("#back").hidden = !back;
}
function unitOptions(list, selected) {
  return list.map((u) => html`<option value="${u.unit_id}" ${u.unit_id === selected ? "selected" : ""}>${u.code}${u.property_name ? " · " + u.property_name : ""}</option>`);
}
const units = () => (me && Array.isArray(me.units) ? me.units : []);

/* ---------------------------------------------------------------- sign in */
function showLogin() {
  setTitle("login.title", false);
  $("#logout").hidden = true;
  let phone = "";
  mount(view(), html`<div class="card">
    <p class="muted">${t("login.lead")}</p>
    <form id="code-form" novalidate>
      ${field("phone", t("login.phone"), html`<input name="phone" type="tel" inputmode="tel" autocomplete="tel" required>`)}
      <p class="form-error" role="alert"></p>
      <button type="submit" class="primary" id="send-code">${t("login.send")}</button>
    </form>
    <form id="login-form" hidden novalidate>
      <p class="ok" id="code-sent" role="status">${t("login.sent")}</p>
      ${field("code", t("login.code"), html`<input name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required>`)}
      <p class="form-error" role="alert"></p>
      <button type="submit" class="primary">${t("login.submit")}</button>
      <div class="actions"><button type="button" id="resend">${t("login.resend")}</button></div>
    </form></div>`);
  const cf = $("#code-form"), lf = $("#login-form");
  const ask = async () => {
    await api("POST", "/v1/resident/auth/code", { phone });
    cf.hidden = true; lf.hidden = false;
    lf.querySelector("[name=code]").focus();
  };
  onSubmit(cf, async (fd) => { phone = String(fd.get("phone") || "").trim(); await ask(); });
  $("#resend").addEventListener("click", () => ask().catch((e) => showErrors(lf, e)));
  onSubmit(lf, async (fd) => {
    const r = await api("POST", "/v1/resident/auth/login", { phone, code: String(fd.get("code") || "").trim() });
    setToken(r.token);
    location.hash = "#/";
    await route();
  });
}

/* ---------------------------------------------------------------- screens */
async function home() {
  setTitle("app", false);
  const mine = units();
  let waiting = 0;
  mount(view(), html`<section class="card" id="units"><h2>${t("home.units")}</h2>
      ${mine.length ? html`<ul class="list">${mine.map((u) => html`<li><div class="row row2"><span><b>${u.code}</b>
        <span class="muted">${u.property_name || ""}</span></span><span class="st">${tv("role", u.role)}</span></div></li>`)}</ul>`
        : html`<p class="muted">${t("home.none")}</p>`}</section>
    <nav class="tiles" id="tiles">
      ${[["messages", "#/messages"], ["repair", "#/repair"], ["tickets", "#/tickets"], ["approvals", "#/approvals"],
         ["bills", "#/bills"], ["news", "#/news"], ["visitors", "#/visitors"]].map(([k, href]) =>
        html`<a class="tile" href="${href}" data-nav="${k}"><b>${t("nav." + k)}</b><span class="n" data-count="${k}"></span></a>`)}
    </nav>`);
  // the unread messages on their tile (one row is enough: unread counts every page)
  api("GET", "/v1/me/notifications?limit=1").then((r) => {
    const n = $("[data-count=messages]");
    if (n && r && r.unread > 0) n.textContent = String(r.unread);
  }).catch(() => { /* the tile still opens */ });
  try {
    waiting = (await pendingApprovals()).length;
    const n = $("[data-count=approvals]");
    if (n && waiting) n.textContent = String(waiting);
  } catch { /* the tickets API may not be there yet: the tile still opens */ }
}

// The property's messages to me, newest first: a tap marks one read, and
// opens its request when it is about one.
async function messages() {
  setTitle("nav.messages", true);
  const r = await api("GET", "/v1/me/notifications?limit=100");
  const list = items(r);
  mount(view(), list.length ? html`<ul class="list" id="messages">${list.map((n) => html`<li>
      <button type="button" class="row note ${n.read ? "" : "unread"}" data-note="${n.id}" data-ticket="${(n.link && n.link.ticket_id) || ""}">
      <div class="row2"><b>${n.title}</b>${n.read ? "" : html`<span class="st st-unread">${t("msg.unread")}</span>`}</div>
      <div class="body">${n.body}</div><div class="muted">${when(n.created_at)}${n.link && n.link.ticket_id ? " · " + t("msg.open") : ""}</div></button></li>`)}</ul>`
    : html`<p class="empty" id="messages-none">${t("msg.none")}</p>`);
  $$("[data-note]").forEach((b) => b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      if (b.classList.contains("unread")) await api("POST", `/v1/me/notifications/${encodeURIComponent(b.dataset.note)}/read`, {});
    } catch { /* a mark that did not stick is tried again next time */ }
    if (b.dataset.ticket) { location.hash = "#/tickets/" + encodeURIComponent(b.dataset.ticket); return; }
    await messages();
  }));
}

async function repair() {
  setTitle("nav.repair", true);
  const types = ["repair", "complaint", "inquiry", "suggestion"];
  mount(view(), html`<form id="repair-form" class="card" novalidate>
    ${field("unit_id", t("rep.unit"), html`<select name="unit_id" required>${unitOptions(units())}</select>`)}
    ${field("type", t("rep.type"), html`<select name="type">${types.map((x) => html`<option value="${x}">${tv("type", x)}</option>`)}</select>`)}
    ${field("title", t("rep.title"), html`<input name="title" maxlength="200" required>`)}
    ${field("description", t("rep.desc"), html`<textarea name="description" maxlength="4000"></textarea>`)}
    ${field("photo", t("rep.photo"), html`<input name="photo" type="file" accept="image/*" capture="environment">`)}
    <p class="form-error" role="alert"></p>
    <button type="submit" class="primary">${t("rep.submit")}</button></form>`);
  const form = $("#repair-form");
  onSubmit(form, async (fd) => {
    const body = { unit_id: fd.get("unit_id"), type: fd.get("type"), title: String(fd.get("title") || "").trim() };
    const desc = String(fd.get("description") || "").trim();
    if (desc) body.description = desc;
    const tk = await api("POST", "/v1/me/tickets", body);
    const photo = fd.get("photo");
    let warn = "";
    if (photo && photo.size) {
      try { await api("POST", `/v1/me/tickets/${encodeURIComponent(tk.id)}/attachments`, undefined, { file: photo }); }
      catch (e) { warn = t("rep.photo_failed", { e: errText(e) }); }
    }
    sessionStorage.setItem("pm_m_flash", warn || t("rep.done", { n: tk.number || "" }));
    location.hash = "#/tickets/" + encodeURIComponent(tk.id);
  });
}

async function tickets() {
  setTitle("nav.tickets", true);
  const r = await api("GET", "/v1/me/tickets?limit=100");
  const list = items(r);
  mount(view(), list.length ? html`<ul class="list" id="tickets">${list.map((tk) => html`<li><a href="#/tickets/${tk.id}" data-ticket="${tk.number}">
      <div class="row2"><b>${tk.title}</b>${badge(tk.status)}</div>
      <div class="muted">${tk.number} · ${tv("type", tk.type)} · ${tk.unit_code || ""} · ${when(tk.created_at)}</div></a></li>`)}</ul>`
    : html`<p class="empty">${t("tk.none")}</p>`);
}

function canApprove(tk) {
  if (tk.type !== "item_release") return false;
  if (Array.isArray(tk.allowed_actions)) return tk.allowed_actions.includes("approve");
  const u = units().find((x) => x.unit_id === tk.unit_id);
  return tk.status === "new" && !!u && (u.role === "owner" || u.role === "tenant");
}
async function pendingApprovals() {
  const r = await api("GET", "/v1/me/tickets?type=item_release&limit=100");
  return items(r).filter((tk) => tk.type === "item_release" && canApprove(tk));
}

async function ticket(id) {
  setTitle("nav.tickets", true);
  const tk = await api("GET", "/v1/me/tickets/" + encodeURIComponent(id));
  const flash = sessionStorage.getItem("pm_m_flash");
  sessionStorage.removeItem("pm_m_flash");
  const fb = tk.feedback;
  const rateable = !fb && (tk.status === "resolved" || (Array.isArray(tk.allowed_actions) && tk.allowed_actions.includes("feedback")));
  const data = tk.data || {};
  const photos = (tk.attachments || []).filter((a) => /^image\//.test(a.content_type || ""));
  mount(view(), html`${flash ? html`<p class="ok" role="status" id="flash">${flash}</p>` : ""}
    <section class="card" id="ticket" data-status="${tk.status}"><div class="row2"><h2>${tk.title}</h2>${badge(tk.status)}</div>
      <p class="muted">${tk.number} · ${tv("type", tk.type)} · ${tk.unit_code || ""} · ${when(tk.created_at)}</p>
      ${tk.description ? html`<p>${tk.description}</p>` : ""}
      ${Array.isArray(data.items) ? html`<p><b>${t("tk.items")}:</b> ${data.items.join("、")}</p>` : ""}
      ${data.carrier ? html`<p><b>${t("tk.carrier")}:</b> ${data.carrier}</p>` : ""}
      ${photos.length ? html`<p class="muted" id="photos">${t("tk.photos")}: ${photos.map((a) => a.filename || "").join(", ")}</p>` : ""}
      ${canApprove(tk) ? html`<div class="actions" id="approval"><button type="button" class="primary" data-act="approve">${t("tk.approve")}</button>
        <button type="button" class="danger" data-act="refuse">${t("tk.refuse")}</button></div><p class="form-error" id="approval-error" role="alert"></p>` : ""}
    </section>
    ${fb ? html`<section class="card" id="rated"><p>${t("tk.rated", { r: fb.rating })}</p>${fb.comment ? html`<p class="muted">${fb.comment}</p>` : ""}</section>` : ""}
    ${rateable ? html`<form class="card" id="rate-form" novalidate><h2>${t("tk.rate")}</h2>
      <div class="stars" role="radiogroup" aria-label="${t("tk.rate")}">${[1, 2, 3, 4, 5].map((n) =>
        html`<label><input type="radio" name="rating" value="${n}" ${n === 5 ? "checked" : ""}><span aria-label="${n}">★</span></label>`)}</div>
      ${field("comment", t("tk.comment"), html`<textarea name="comment" maxlength="1000"></textarea>`)}
      <p class="form-error" role="alert"></p><button type="submit" class="primary">${t("tk.rate_submit")}</button></form>` : ""}
    <section class="card"><h2>${t("tk.timeline")}</h2><ul class="timeline" id="timeline">
      ${(tk.timeline || []).map((e) => html`<li><b>${e.to_status ? tv("status", e.to_status) : e.action}</b>
        <span class="muted"> ${when(e.at || e.created_at)}</span>${e.comment || e.body ? html`<div>${e.comment || e.body}</div>` : ""}</li>`)}
    </ul></section>`);
  const rf = $("#rate-form");
  // the stars up to the one chosen are lit
  const lit = () => $$(".stars label", rf).forEach((l) => {
    const c = rf.querySelector("[name=rating]:checked");
    l.classList.toggle("on", !!c && Number(l.querySelector("input").value) <= Number(c.value));
  });
  if (rf) { lit(); rf.addEventListener("change", lit); }
  if (rf) onSubmit(rf, async (fd) => {
    const body = { rating: Number(fd.get("rating")) };
    const c = String(fd.get("comment") || "").trim();
    if (c) body.comment = c;
    await api("POST", `/v1/me/tickets/${encodeURIComponent(id)}/feedback`, body);
    await ticket(id);
  });
  $$("#approval [data-act]").forEach((b) => b.addEventListener("click", async () => {
    $$("#approval button").forEach((x) => (x.disabled = true));
    try {
      await api("POST", `/v1/me/tickets/${encodeURIComponent(id)}/${b.dataset.act}`, {});
      await ticket(id);
    } catch (e) {
      $("#approval-error").textContent = errText(e);
      $$("#approval button").forEach((x) => (x.disabled = false));
    }
  }));
}

async function approvals() {
  setTitle("nav.approvals", true);
  const list = await pendingApprovals();
  mount(view(), list.length ? html`<p class="muted">${t("ap.lead")}</p><ul class="list" id="approvals">${list.map((tk) =>
      html`<li><a href="#/tickets/${tk.id}" data-ticket="${tk.number}"><div class="row2"><b>${tk.title}</b>${badge(tk.status)}</div>
      <div class="muted">${tk.number} · ${tk.unit_code || ""} · ${when(tk.created_at)}</div></a></li>`)}</ul>`
    : html`<p class="empty" id="approvals-none">${t("ap.none")}</p>`);
}

async function bills() {
  setTitle("nav.bills", true);
  const parts = [];
  for (const u of units()) {
    const base = "/v1/me/units/" + encodeURIComponent(u.unit_id);
    const [acct, pays] = await Promise.all([api("GET", base + "/account"), api("GET", base + "/payments?limit=50")]);
    const bl = items(acct.bills);
    const pl = items(pays);
    parts.push(html`<section class="card" data-unit="${u.code}"><div class="row2"><h2>${u.code}</h2>
        <span>${t("bill.balance")} <span class="money ${acct.balance_due > 0 ? "due" : ""}">${money(acct.balance_due)}</span></span></div>
      ${acct.credit ? html`<p class="muted">${t("bill.credit")} ${money(acct.credit)}</p>` : ""}
      <h3>${t("bill.bills")}</h3>${bl.length ? html`<ul class="list">${bl.map((b) => html`<li><div class="row"><div class="row2">
          <span>${b.period || ""} ${b.description || ""}</span><span class="money">${money(b.balance ?? b.amount)}</span></div>
          <div class="row2 muted"><span>${t("bill.due")} ${b.due_date || ""}</span>${b.status ? badge(b.status) : ""}</div></div></li>`)}</ul>`
        : html`<p class="muted">${t("bill.none")}</p>`}
      <h3>${t("bill.payments")}</h3>${pl.length ? html`<ul class="list">${pl.map((p) => html`<li><div class="row"><div class="row2">
          <span>${when(p.paid_at || p.created_at)}</span><span class="money">${money(p.amount)}</span></div>
          ${p.receipt_number ? html`<button type="button" data-receipt="${p.id}">${t("bill.receipt")} ${p.receipt_number}</button>` : ""}</div></li>`)}</ul>`
        : html`<p class="muted">${t("bill.none")}</p>`}</section>`);
  }
  mount(view(), html`${parts}<div id="receipt"></div>`);
  // the receipt is the desk's printable page (API: a file), shown in the
  // console's sandboxed print preview (no script, its style as a sheet)
  $$("[data-receipt]").forEach((b) => b.addEventListener("click", async () => {
    const box = $("#receipt");
    b.disabled = true;
    try {
      const page = await fetchText("/v1/me/payments/" + encodeURIComponent(b.dataset.receipt) + "/receipt");
      mount(box, html``);
      await printPreview(page, t("bill.receipt"));
    } catch (e) { mount(box, html`<p class="form-error" role="alert">${errText(e)}</p>`); }
    finally { b.disabled = false; }
  }));
}

async function news() {
  setTitle("nav.news", true);
  const [ann, acts] = await Promise.all([
    api("GET", "/v1/me/announcements?limit=50").catch((e) => ({ error: e })),
    api("GET", "/v1/me/activities?limit=50").catch((e) => ({ error: e })),
  ]);
  const mine = units();
  const actCard = (a) => {
    const regs = Array.isArray(a.my_registrations) ? a.my_registrations : [];
    const reg = regs[0] || null;
    const left = typeof a.places_left === "number" ? a.places_left : null;
    return html`<li><div class="row" data-activity="${a.id}"><div class="row2"><b>${a.title}</b>
        ${reg ? html`<span class="st st-registered">${t("act.registered")}</span>` : left !== null && left <= 0 ? html`<span class="st st-full">${t("act.full")}</span>` : ""}</div>
      <div class="muted">${when(a.starts_at)} – ${when(a.ends_at)} · ${a.place || ""}</div>
      ${a.description ? html`<p>${a.description}</p>` : ""}
      ${left !== null ? html`<p class="muted">${t("act.places", { n: Math.max(0, left) })}</p>` : ""}
      ${reg ? html`${regs.map((r) => html`<div class="actions"><button type="button" class="danger" data-cancel="${r.id}" data-act="${a.id}">${t("act.cancel")}${regs.length > 1 ? " · " + (r.unit_code || "") : ""}</button></div>`)}`
        : html`<form class="signup" data-act="${a.id}" novalidate>
          ${mine.length > 1 ? field("unit_id", t("act.unit"), html`<select name="unit_id">${unitOptions(mine)}</select>`)
            : html`<input type="hidden" name="unit_id" value="${mine[0] ? mine[0].unit_id : ""}">`}
          <p class="form-error" role="alert"></p><button type="submit" class="primary">${t("act.signup")}</button></form>`}
    </div></li>`;
  };
  const section = (key, r, render, id) => html`<section><h2>${t(key)}</h2>${r.error ? html`<p class="form-error">${errText(r.error)}</p>`
    : items(r).length ? html`<ul class="list" id="${id}">${items(r).map(render)}</ul>` : html`<p class="empty">${t("news.none")}</p>`}</section>`;
  mount(view(), html`${section("news.act", acts, actCard, "activities")}
    ${section("news.ann", ann, (n) => html`<li><div class="row"><b>${n.title}</b><div class="muted">${when(n.published_at || n.created_at)}</div>
      ${n.body ? html`<p>${n.body}</p>` : ""}</div></li>`, "announcements")}`);
  $$("form.signup").forEach((f) => onSubmit(f, async (fd) => {
    await api("POST", `/v1/me/activities/${encodeURIComponent(f.dataset.act)}/registrations`, { unit_id: fd.get("unit_id"), people: 1 });
    await news();
  }));
  $$("[data-cancel]").forEach((b) => b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await api("DELETE", `/v1/me/activities/${encodeURIComponent(b.dataset.act)}/registrations/${encodeURIComponent(b.dataset.cancel)}`);
      await news();
    } catch (e) {
      b.disabled = false;
      const p = document.createElement("p");
      p.className = "form-error";
      p.setAttribute("role", "alert");
      p.textContent = errText(e);
      b.closest(".actions").after(p);
    }
  }));
}

function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
async function visitors() {
  setTitle("nav.visitors", true);
  const soon = new Date(Date.now() + 3600e3);
  mount(view(), html`<form id="visitor-form" class="card" novalidate>
    ${field("unit_id", t("vis.unit"), html`<select name="unit_id">${unitOptions(units())}</select>`)}
    ${field("name", t("vis.name"), html`<input name="name" maxlength="100" required>`)}
    ${field("expected_at", t("vis.at"), html`<input name="expected_at" type="datetime-local" value="${localInput(soon)}" required>`)}
    ${field("vehicle_plate", t("vis.plate"), html`<input name="vehicle_plate" maxlength="16" autocapitalize="characters">`)}
    <p class="form-error" role="alert"></p><button type="submit" class="primary">${t("vis.submit")}</button></form><div id="visitor-done"></div>`);
  onSubmit($("#visitor-form"), async (fd) => {
    const at = new Date(String(fd.get("expected_at") || ""));
    const body = { unit_id: fd.get("unit_id"), name: String(fd.get("name") || "").trim(),
      expected_at: isNaN(at) ? String(fd.get("expected_at") || "") : at.toISOString() };
    const plate = String(fd.get("vehicle_plate") || "").trim().toUpperCase();
    if (plate) body.vehicle_plate = plate;
    const v = await api("POST", "/v1/me/visitors", body);
    mount($("#visitor-done"), html`<section class="card" id="visitor-pass"><p>${t("vis.done")}</p>
      <p class="pass">${v.pass_code || ""}</p><p class="muted">${v.name || body.name} · ${when(v.expected_at || body.expected_at)}</p></section>`);
    $("#visitor-form").reset();
  });
}

/* ---------------------------------------------------------------- routing */
let routing = 0;
async function route() {
  const my = ++routing;
  $("#lang").textContent = t("lang");
  $("#logout").textContent = t("logout");
  document.documentElement.lang = lang;
  if (!getToken()) { me = null; showLogin(); return; }
  $("#logout").hidden = false;
  const h = location.hash.replace(/^#/, "") || "/";
  const parts = h.split("/").filter(Boolean);
  mount(view(), html`<p class="empty">${t("loading")}</p>`);
  try {
    if (!me) me = await api("GET", "/v1/me");
    if (my !== routing) return;
    const screens = { messages, repair, tickets, approvals, bills, news, visitors };
    if (parts[0] === "tickets" && parts[1]) await ticket(decodeURIComponent(parts[1]));
    else if (screens[parts[0]]) await screens[parts[0]]();
    else await home();
    view().focus({ preventScroll: true });
  } catch (e) {
    if (my !== routing || !getToken()) return;
    mount(view(), html`<div class="card" id="screen-error"><p class="form-error" role="alert">${errText(e)}</p>
      <div class="actions"><button type="button" id="retry">↻</button></div></div>`);
    $("#retry").addEventListener("click", route);
  }
}

let netTimer = 0;
onApi("offline", () => { clearTimeout(netTimer); const n = $("#net"); n.className = "net bad"; n.textContent = t("net.offline"); n.hidden = false; });
onApi("online", () => {
  const n = $("#net"); n.className = "net good"; n.textContent = t("net.back"); n.hidden = false;
  clearTimeout(netTimer); netTimer = setTimeout(() => { n.hidden = true; }, 2500);
});
onApi("unauth", () => { if (getToken()) { setToken(null); me = null; showLogin(); } });

$("#lang").addEventListener("click", () => {
  setLang(lang === "en" ? "zh-CN" : "en");
  lang = getLang();
  route();
});
$("#logout").addEventListener("click", async () => {
  try { await api("POST", "/v1/resident/auth/logout", undefined, { noRetry: true }); } catch { /* the token is dropped anyway */ }
  setToken(null); me = null;
  location.hash = "#/";
  showLogin();
});
window.addEventListener("hashchange", route);
route();
