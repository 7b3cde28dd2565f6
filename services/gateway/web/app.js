// Placeholder console: sign in, list the properties the user may see, sign out.
// The token lives in sessionStorage (gone with the tab). No inline script:
// the gateway's Content-Security-Policy is default-src 'self'.
"use strict";

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("pm_token");

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (token) headers["Authorization"] = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) {
    const err = new Error((data && data.error && data.error.message) || r.statusText);
    err.status = r.status;
    throw err;
  }
  return data;
}

function show(view) {
  $("login-view").hidden = view !== "login";
  $("home-view").hidden = view !== "home";
}

async function home() {
  try {
    const me = await api("GET", "/v1/auth/me");
    $("who").textContent = (me.username || me.name) + " (" + me.role + ")";
    show("home");
    const list = $("properties");
    list.replaceChildren();
    try {
      const props = await api("GET", "/v1/properties");
      for (const p of props.items || []) {
        const li = document.createElement("li");
        li.textContent = p.code + " · " + p.name;
        list.append(li);
      }
    } catch (e) {
      $("status").textContent = "物业项目加载失败: " + e.message;
    }
  } catch (e) {
    token = null;
    sessionStorage.removeItem("pm_token");
    show("login");
  }
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  $("login-error").textContent = "";
  try {
    const r = await api("POST", "/v1/auth/login", { username: f.get("username"), password: f.get("password") });
    token = r.token;
    sessionStorage.setItem("pm_token", token);
    await home();
  } catch (e) {
    $("login-error").textContent = e.status === 401 ? "用户名或密码错误" : e.message;
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("POST", "/v1/auth/logout"); } catch (e) { /* gone already */ }
  token = null;
  sessionStorage.removeItem("pm_token");
  $("who").textContent = "";
  show("login");
});

if (token) home(); else show("login");
