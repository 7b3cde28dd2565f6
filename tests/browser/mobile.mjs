// mobile.mjs: browser scenarios of the residents' pages (services/gateway/web/m,
// served at /m/), playwright-core driving Debian's chromium headless at 375x812
// against a running stack.
//
//   node tests/browser/mobile.mjs SCENARIO...   or   node mobile.mjs --serve (names on stdin)
//
// Environment: PM_BASE_URL, PM_SMS_FILE (where the stack writes each SMS as a JSON
// line {"to","text",...}: the sign-in code is read from there), PM_SEED (JSON of what
// test_mobile.py seeded: the resident's phone, unit code, the activity's title, ...),
// PM_STATE (a JSON file the scenarios and the test share: the ticket the resident
// reported), PM_SCREENSHOTS (directory for the m-*.png; unset: none), PM_CHROMIUM.
// Prints one line per scenario, `ok - NAME (N s)` or `FAIL - NAME: why`; exits 1 on a failure.
import fs from "node:fs";
import path from "node:path";
import { main, png } from "./runner.mjs";

const BASE = process.env.PM_BASE_URL;
const SMS = process.env.PM_SMS_FILE || "";
const SEED = JSON.parse(process.env.PM_SEED || "{}");
const STATE = process.env.PM_STATE || "";
const SHOTS = process.env.PM_SCREENSHOTS || "";
const CHROMIUM = process.env.PM_CHROMIUM || "/usr/bin/chromium";
const VIEWPORT = { width: 375, height: 812 };

function loadState() { try { return JSON.parse(fs.readFileSync(STATE, "utf8")); } catch { return {}; } }
function saveState(s) { if (STATE) fs.writeFileSync(STATE, JSON.stringify(Object.assign(loadState(), s))); }
function check(cond, msg) { if (!cond) throw new Error(msg); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function shot(page, name) {
  if (!SHOTS) return;
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(SHOTS, "m-" + name + ".png") });
}

function smsLines() {
  try {
    return fs.readFileSync(SMS, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  } catch { return []; }
}
// The code of the newest SMS to phone among the lines after `after`.
async function codeFor(phone, after) {
  for (let i = 0; i < 150; i++) {
    const mine = smsLines().slice(after).filter((m) => m.to === phone);
    if (mine.length) {
      const m = /\b(\d{6})\b/.exec(mine[mine.length - 1].text || "");
      check(m, "no code in the SMS: " + mine[mine.length - 1].text);
      return m[1];
    }
    await sleep(100);
  }
  throw new Error("no SMS to the resident in " + SMS);
}


// A fresh context per scenario (its own sessionStorage), a phone's screen, zh-CN.
let current = null;
async function open(browser, errors) {
  const ctx = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, isMobile: true, hasTouch: true,
    locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.on("pageerror", (e) => errors.push("page error: " + e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 40[0-9]|status of 42[29]|ERR_INTERNET_DISCONNECTED/.test(m.text())) errors.push("console: " + m.text());
  });
  page.on("request", (r) => {
    if (/[?&](token|access_token|key|code)=/i.test(r.url()) || (page.token && r.url().includes(page.token)))
      errors.push("a token in a URL: " + r.url());
  });
  await page.goto(BASE + "/m/");
  current = page;
  return page;
}

async function login(page) {
  await page.waitForSelector("#code-form");
  const n = smsLines().length;
  await page.fill("#code-form [name=phone]", SEED.phone);
  await page.click("#send-code");
  await page.waitForSelector("#login-form:not([hidden])");
  await page.fill("#login-form [name=code]", await codeFor(SEED.phone, n));
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#units");
  page.token = await page.evaluate(() => sessionStorage.getItem("pm_token"));
  check(page.token, "a token after the sign-in");
}

// No element may be wider than the screen (nothing to scroll sideways).
async function fitsScreen(page, what) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  check(w <= VIEWPORT.width, `${what}: the page is ${w}px wide on a ${VIEWPORT.width}px screen`);
}
// Every button and link of the screen is a large touch target.
async function largeTargets(page, what) {
  const small = await page.evaluate(() => Array.from(document.querySelectorAll("main button, main a, main select, main input:not([type=radio]):not([type=hidden]), header button"))
    .filter((e) => e.offsetParent !== null)
    .map((e) => [e.id || e.className || e.tagName, e.getBoundingClientRect().height])
    .filter(([, h]) => h < 44));
  check(!small.length, `${what}: touch targets under 44px: ${JSON.stringify(small)}`);
}

/* ---------------------------------------------------------------- scenarios */
const scenarios = {
  // The sign-in: zh-CN first, the same words for an unknown phone, a wrong code,
  // then the code from the SMS; English and back; sign out drops the token.
  async login(browser, errors) {
    const page = await open(browser, errors);
    await page.waitForSelector("#code-form");
    check((await page.getAttribute("html", "lang")) === "zh-CN", "the pages start in zh-CN");
    check((await page.textContent("#title")).includes("业主服务"), "the title is in Chinese");
    await largeTargets(page, "login");
    await shot(page, "login");
    // an unknown phone: the same answer as a known one
    await page.fill("#code-form [name=phone]", SEED.unknown_phone);
    await page.click("#send-code");
    await page.waitForSelector("#login-form:not([hidden])");
    const unknown = await page.textContent("#code-sent");
    check(unknown.includes("如果该手机号已在物业登记"), "the code request says 'if registered': " + unknown);
    // a wrong code for the resident's phone
    await page.reload();
    await page.waitForSelector("#code-form");
    const n = smsLines().length;
    await page.fill("#code-form [name=phone]", SEED.phone);
    await page.click("#send-code");
    await page.waitForSelector("#login-form:not([hidden])");
    check((await page.textContent("#code-sent")) === unknown, "a known phone is told the same as an unknown one");
    const code = await codeFor(SEED.phone, n);
    await page.fill("#login-form [name=code]", code === "000000" ? "111111" : "000000");
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#login-form .form-error:has-text('验证码不正确')");
    await page.fill("#login-form [name=code]", code);
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#units");
    page.token = await page.evaluate(() => sessionStorage.getItem("pm_token"));
    check(page.token && !page.url().includes(page.token), "a token, never in the address");
    check((await page.textContent("#units")).includes(SEED.unit_code), "my units show " + SEED.unit_code);
    check((await page.locator("#tiles .tile").count()) === 7, "seven screens on the home page (messages the seventh)");
    await fitsScreen(page, "home");
    await largeTargets(page, "home");
    await shot(page, "home");
    await page.click("#lang");
    await page.waitForSelector("#units h2:has-text('My units')");
    check((await page.getAttribute("html", "lang")) === "en", "English");
    await page.click("#lang");
    await page.waitForSelector("#units h2:has-text('我的房屋')");
    await page.click("#logout");
    await page.waitForSelector("#code-form");
    check((await page.evaluate(() => sessionStorage.getItem("pm_token"))) === null, "sign out drops the token");
    await page.context().close();
  },

  // A repair with a photo from the camera input; the ticket's page after it.
  async repair(browser, errors) {
    const page = await open(browser, errors);
    await login(page);
    await page.click("[data-nav=repair]");
    await page.waitForSelector("#repair-form");
    check((await page.getAttribute("#repair-form [name=photo]", "accept")) === "image/*", "the photo input takes images");
    check((await page.getAttribute("#repair-form [name=photo]", "capture")) === "environment", "the photo input opens the camera");
    // nothing typed: the API's 422 under the title
    await page.click("#repair-form button[type=submit]");
    await page.waitForSelector("#repair-form [name=title].invalid");
    await page.fill("#repair-form [name=title]", SEED.repair_title);
    await page.fill("#repair-form [name=description]", SEED.repair_text);
    await page.setInputFiles("#repair-form [name=photo]", { name: "leak.png", mimeType: "image/png", buffer: png(320, 240) });
    await fitsScreen(page, "repair");
    await largeTargets(page, "repair");
    await shot(page, "repair");
    await page.click("#repair-form button[type=submit]");
    await page.waitForSelector("#ticket");
    const flash = await page.textContent("#flash");
    check(flash.includes("已提交"), "the ticket's number after the report: " + flash);
    const id = decodeURIComponent(page.url().split("#/tickets/")[1] || "");
    check(id, "the ticket's page: " + page.url());
    saveState({ ticket_id: id });
    check((await page.textContent("#ticket")).includes(SEED.repair_title), "the ticket shows its title");
    await page.click("#back");
    await page.click("[data-nav=tickets]");
    await page.waitForSelector(`#tickets a[href="#/tickets/${id}"]`);
    await shot(page, "tickets");
    await page.context().close();
  },

  // The repair at the desk: the console's queue (a desktop screen, the desk's
  // sign-in) lists it among the property's new tickets, its unit and title.
  async desk_queue(browser, errors) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN",
      timezoneId: "Asia/Shanghai" });
    const page = await ctx.newPage();
    current = page;
    page.setDefaultTimeout(10000);
    page.on("pageerror", (e) => errors.push("page error: " + e.message));
    await page.goto(BASE + "/");
    await page.waitForSelector("#login-form");
    await page.fill("#login-form [name=username]", SEED.desk_user);
    await page.fill("#login-form [name=password]", SEED.desk_password);
    await page.press("#login-form [name=password]", "Enter");
    await page.waitForSelector("#shell:not([hidden]) #nav a");
    await page.waitForSelector(`#prop option[value="${SEED.pid}"]`, { state: "attached" });
    if (await page.locator("#prop").isEnabled()) await page.selectOption("#prop", SEED.pid);   // one property: no choice
    check((await page.inputValue("#prop")) === SEED.pid, "the desk works in the resident's property");
    await page.evaluate(() => { location.hash = "#/tickets?status=new"; });
    const row = page.locator(`#q-table tbody tr:has-text("${SEED.repair_title}")`).first();
    await row.waitFor();
    const text = await row.innerText();
    check(text.includes(SEED.unit_code), "the queue shows the repair's unit: " + text);
    check(text.includes("报修"), "the queue shows it as a repair: " + text);
    await ctx.close();
  },

  // After the desk resolved it (test_mobile.py, through the staff API): the rating.
  async rate(browser, errors) {
    const page = await open(browser, errors);
    await login(page);
    const id = loadState().ticket_id;
    check(id, "no ticket from the repair scenario");
    await page.evaluate((x) => { location.hash = "#/tickets/" + encodeURIComponent(x); }, id);
    await page.waitForSelector("#ticket[data-status=resolved]");
    await page.waitForSelector("#rate-form");
    await page.click("#rate-form .stars label:nth-child(4) span");
    check((await page.locator("#rate-form .stars label.on").count()) === 4, "four stars lit");
    await page.fill("#rate-form [name=comment]", SEED.rating_comment);
    await fitsScreen(page, "rate");
    await shot(page, "rate");
    await page.click("#rate-form button[type=submit]");
    await page.waitForSelector("#rated");
    check((await page.textContent("#rated")).includes("4"), "the rating shown: " + (await page.textContent("#rated")));
    check(!(await page.locator("#rate-form").count()), "rated once: no second form");
    await page.context().close();
  },

  // Messages (issue K item 7): the unread count on the tile, the property's
  // notices about the repair, a tap marks one read and opens the request.
  async messages(browser, errors) {
    const page = await open(browser, errors);
    await login(page);
    await page.waitForFunction(() => Number(document.querySelector("[data-count=messages]").textContent || 0) > 0);
    const before = Number(await page.textContent("[data-count=messages]"));
    await page.click("[data-nav=messages]");
    await page.waitForSelector("#messages");
    const note = page.locator("#messages [data-note].unread", { hasText: SEED.repair_title }).first();
    await note.waitFor();
    check((await note.innerText()).includes("已处理完成"), "the newest notice is the resolution: " + (await note.innerText()));
    check((await page.locator("#messages [data-note].unread").count()) === before, "the tile counts the unread ones");
    await fitsScreen(page, "messages");
    await largeTargets(page, "messages");
    await shot(page, "messages");
    await note.click();
    await page.waitForSelector("#ticket");
    check((await page.textContent("#ticket")).includes(SEED.repair_title), "the notice opens its request");
    await page.evaluate(() => { location.hash = "#/"; });
    await page.waitForFunction((n) => Number(document.querySelector("[data-count=messages]").textContent || 0) === n,
      before - 1);
    await page.context().close();
  },

  // An activity: sign up, shown as signed up with a cancel button.
  async activity(browser, errors) {
    const page = await open(browser, errors);
    await login(page);
    await page.click("[data-nav=news]");
    const row = page.locator("#activities [data-activity]", { hasText: SEED.activity_title });
    await row.waitFor();
    await fitsScreen(page, "news");
    await largeTargets(page, "news");
    await row.locator("form.signup button[type=submit]").click();
    await page.locator("#activities [data-activity]", { hasText: SEED.activity_title }).locator("[data-cancel]").waitFor();
    check((await page.locator("#activities [data-activity]", { hasText: SEED.activity_title }).innerText()).includes("已报名"),
      "the activity says signed up");
    // cancel, then sign up again: the places come back and are taken again
    const act = () => page.locator("#activities [data-activity]", { hasText: SEED.activity_title });
    check((await act().innerText()).includes("剩余名额 19"), "one place taken: " + (await act().innerText()));
    await act().locator("[data-cancel]").click();
    await act().locator("form.signup button[type=submit]").waitFor();
    check((await act().innerText()).includes("剩余名额 20"), "the place is free again: " + (await act().innerText()));
    await act().locator("form.signup button[type=submit]").click();
    await act().locator("[data-cancel]").waitFor();
    await shot(page, "activities");
    await page.context().close();
  },

  // Bills, payments and a receipt (the desk's printable page, framed and scriptless).
  async bills(browser, errors) {
    const page = await open(browser, errors);
    await login(page);
    await page.click("[data-nav=bills]");
    const card = page.locator(`section[data-unit="${SEED.unit_code}"]`);
    await card.waitFor();
    const text = await card.innerText();
    check(text.includes(SEED.balance_text), `the balance ${SEED.balance_text}: ${text}`);
    await fitsScreen(page, "bills");
    await shot(page, "bills");
    await card.locator("[data-receipt]").first().click();
    await page.waitForSelector("#print-preview iframe");
    const body = await page.frameLocator("#print-frame").locator("body").innerText();
    check(body.includes(SEED.receipt_number), "the receipt's number in the preview: " + body.slice(0, 200));
    await shot(page, "receipt");
    await page.context().close();
  },

  // An item release waiting for the owner's word: approve it.
  async approval(browser, errors) {
    const page = await open(browser, errors);
    await login(page);
    await page.waitForSelector("[data-count=approvals]:not(:empty)");
    await page.click("[data-nav=approvals]");
    await page.click(`#approvals [data-ticket="${SEED.release_number}"]`);
    await page.waitForSelector("#approval");
    check((await page.textContent("#ticket")).includes(SEED.release_item), "the items to release are shown");
    await shot(page, "approval");
    await page.click("#approval [data-act=approve]");
    await page.waitForSelector("#ticket[data-status=approved]");
    check(!(await page.locator("#approval").count()), "no buttons once approved");
    await page.context().close();
  },

  // A visitor announced from the phone: the pass code to pass on.
  async visitor(browser, errors) {
    const page = await open(browser, errors);
    await login(page);
    await page.click("[data-nav=visitors]");
    await page.waitForSelector("#visitor-form");
    await page.fill("#visitor-form [name=name]", SEED.visitor_name);
    await page.fill("#visitor-form [name=vehicle_plate]", SEED.visitor_plate);
    await page.click("#visitor-form button[type=submit]");
    await page.waitForSelector("#visitor-pass .pass");
    const pass = (await page.textContent("#visitor-pass .pass")).trim();
    check(pass.length >= 4, "a pass code: " + pass);
    saveState({ pass_code: pass });
    await fitsScreen(page, "visitor");
    await shot(page, "visitor");
    await page.context().close();
  },

  // The staff's words are text: an announcement's markup is shown, never run.
  async escaping(browser, errors) {
    const page = await open(browser, errors);
    await login(page);
    await page.click("[data-nav=news]");
    await page.locator("#announcements li", { hasText: "停水" }).first().waitFor();
    check((await page.textContent("#announcements")).includes(SEED.xss), "the announcement's title as typed");
    check(!(await page.evaluate(() => window.__xss)) && !(await page.locator("#announcements img").count()),
      "markup from the API became HTML");
    await page.context().close();
  },

  // A lost connection says so and the request goes through once it is back.
  async lost_connection(browser, errors) {
    const page = await open(browser, errors);
    await login(page);
    await page.context().setOffline(true);
    await page.click("[data-nav=tickets]");
    await page.waitForSelector("#net.bad:has-text('网络连接已断开')");
    await shot(page, "offline");
    await page.context().setOffline(false);
    await page.waitForSelector("#net.good", { timeout: 15000 });
    await page.waitForSelector("#tickets, #view .empty:has-text('还没有工单')");
    // a POST sent while offline goes through once, when the connection is back
    await page.click("#back");
    await page.click("[data-nav=visitors]");
    await page.fill("#visitor-form [name=name]", SEED.offline_visitor);
    await page.context().setOffline(true);
    await page.click("#visitor-form button[type=submit]");
    await page.waitForSelector("#net.bad");
    check(await page.locator("#visitor-form button[type=submit]").isDisabled(), "the button waits while retrying");
    await page.context().setOffline(false);
    await page.waitForSelector("#visitor-pass .pass", { timeout: 15000 });
    await page.context().close();
  },
};

/* ---------------------------------------------------------------- main */
await main({ scenarios, page: { get: () => current, reset: () => { current = null; } }, failed: "failed-m-",
  usage: "usage: PM_BASE_URL=... PM_SMS_FILE=... PM_SEED=... node mobile.mjs (SCENARIO... | --serve)", base: BASE, chromiumPath: CHROMIUM, state: STATE });
